/**
 * OpenTelemetry tracing for the trace tests: an in-memory exporter, @fastify/otel and the mysql2
 * instrumentation. Import it before anything that loads mysql2: the instrumentation patches
 * mysql2's internal files as they are first required.
 */
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2'
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node'

export const exporter = new InMemorySpanExporter()
export const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
provider.register()
export const mysqlInstrumentation = new MySQL2Instrumentation()
mysqlInstrumentation.setTracerProvider(provider)
export const fastifyOtel = new FastifyOtelInstrumentation()
fastifyOtel.setTracerProvider(provider)
