export {
  describeUserStoreContract,
  type UserStoreContractOptions,
  type UserStoreFixture,
} from "./user-store-contract.js";
