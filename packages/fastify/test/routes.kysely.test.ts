import { describeLatchkeyRoutes } from "./fixtures/route-suite.js";
import { usePgliteDatabase } from "./fixtures/stores.js";

// Real PostgreSQL (PGlite, in memory), migrated as an app would; one database per file, emptied
// before each test.
const pglite = usePgliteDatabase();

describeLatchkeyRoutes("the Kysely store on PGlite", async () => ({ store: await pglite.freshStore() }));
