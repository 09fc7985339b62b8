/** What the bcrypt ceiling process measures. */
export interface CeilingSpec {
  operation: "compare" | "hash";
  cost: number;
  /** Operations kept in flight at once. */
  concurrency: number;
  warmupSeconds: number;
  windowSeconds: number;
}

export interface CeilingResult extends CeilingSpec {
  threadPoolSize: number;
  completed: number;
  seconds: number;
  perSecond: number;
  /** CPU the process used in the window, in cores (1 = one core busy all the time). */
  cpuCores: number;
  /** CPU everything else on the machine used meanwhile, in cores: a large value means a disturbed figure. */
  otherCores: number;
}
