/** typeorm on lifespan.pool() / driver(): the shared ORM tests (test/orm/support/suite.ts). */
import { describeTool } from './support/suite.js'

describeTool('typeorm')
