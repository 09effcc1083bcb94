/**
 * The memory of the one function with a deadline. Slack gives an interaction 3 s for its answer,
 * cold start included, and Lambda gives a function CPU in proportion to its memory (one vCPU at
 * 1,769 MB). `npm run bench` measures a cold Approve's CPU on the bench machine — Node's start,
 * buttonClick's import and its first click — and carries it to Lambda (coldStartModel: a Lambda
 * core taken as twice as slow, 500 ms left for the calls to Secrets Manager, DynamoDB, SNS and
 * Slack); `buttonClickMinMb` is the least memory that fits, and the bench reports whether this
 * value covers it. Measured 0.42-0.53 s of CPU on 2026-12-03: 640-768 MB needed, 768 MB fits
 * every run. At 256 MB the same model gives 5.8-7.4 s of CPU alone.
 */
export const BUTTON_CLICK_MEMORY_MB = 768;

/**
 * The revert has no one waiting on it, but the change stays live until it runs: a cold revert's
 * start is that much longer exposure. The same model carries Node's start and the revert
 * bundle's import (0.32-0.44 s of CPU here) to Lambda: about 4.5-6.0 s at 256 MB, 1.1-1.5 s at
 * 1,024 MB (coldStartModel.revertColdMsAt). Reverts are as rare as changes, so four times the
 * memory costs little; 1,024 MB takes some four seconds off each cold revert.
 * Every other function runs with 256 MB: none has a deadline a person waits on, or a change live.
 */
export const REVERT_MEMORY_MB = 1024;
