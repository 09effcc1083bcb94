/**
 * The memory of the one function with a deadline. Slack gives an interaction 3 s for its answer,
 * cold start included, and Lambda gives a function CPU in proportion to its memory (one vCPU at
 * 1,769 MB). `npm run bench` measures a cold Approve's CPU on the bench machine — Node's start,
 * buttonClick's import and its first click — and carries it to Lambda (coldStartModel: a Lambda
 * core taken as twice as slow, 500 ms left for the calls to Secrets Manager, DynamoDB, SNS and
 * Slack); `buttonClickMinMb` is the least memory that fits, and the bench reports whether this
 * value covers it. Measured 0.39-0.41 s of CPU: 576-640 MB needed, 768 MB leaves a margin
 * (1.8 s of CPU, 0.7 s to spare). At 256 MB the same model gives 5.4 s of CPU alone.
 * Every other function runs with 256 MB: none has a deadline a person waits on.
 */
export const BUTTON_CLICK_MEMORY_MB = 768;
