export { type FaultProxy, startFaultProxy } from "./fault-proxy.js";
export {
  describeSessionStoreContract,
  type SessionStoreContractOptions,
  type SessionStoreFixture,
} from "./session-store-contract.js";
export {
  describeUserStoreContract,
  type UserStoreContractOptions,
  type UserStoreFixture,
} from "./user-store-contract.js";
