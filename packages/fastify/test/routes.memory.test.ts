import { describeLatchkeyRoutes } from "./fixtures/route-suite.js";
import { memoryStoreFactory } from "./fixtures/stores.js";

describeLatchkeyRoutes("core's memory store", memoryStoreFactory);
