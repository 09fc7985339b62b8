/** The signing algorithms compared, HS256 (the baseline of every ratio) first. */
export const TOKEN_ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** What the token-algorithm process measures. */
export interface TokenAlgorithmsSpec {
  /** Distinct tokens each algorithm signs, and then verifies, per round. */
  tokens: number;
  /** Timed rounds, after one untimed warm-up round of the same size. */
  rounds: number;
}

/** One algorithm's cost, in microseconds per token. */
export interface AlgorithmCost {
  algorithm: TokenAlgorithm;
  /** The header `alg` of the tokens made: what really signed them. */
  signedWith: string;
  /** Length of one token, in bytes. */
  tokenBytes: number;
  /** µs per token of each timed round, in the order the rounds ran. */
  signRoundsUs: number[];
  verifyRoundsUs: number[];
  /** The median of the rounds. */
  signUs: number;
  verifyUs: number;
  /** The median divided by HS256's median. */
  signRatio: number;
  verifyRatio: number;
}

export interface TokenAlgorithmsResult extends TokenAlgorithmsSpec {
  /** Which of the rounds the figures are: always the median. */
  statistic: "median";
  algorithms: AlgorithmCost[];
  /** Wall time of the timed rounds. */
  seconds: number;
  /** CPU the process used in the timed rounds, in cores. */
  cpuCores: number;
  /** CPU everything else on the machine used meanwhile, in cores: a large value means disturbed figures. */
  otherCores: number;
}
