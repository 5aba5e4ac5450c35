/**
 * Node's flags for the relay, as the image's ENTRYPOINT and the CLI's shebang
 * pass them (and the benchmark, to measure what runs). memory.ts sets the
 * first again for a plain `node dist/app/cli.js`; the second cannot be set
 * from there: V8 decides at start whether it compiles optimised code in a
 * worker thread. That worker's malloc arena held some 30 MB of compiler memory
 * at the end of a cycle, the relay's peak RSS; compiling on the main thread
 * costs no more CPU in total on this I/O-bound process (docs/performance.md).
 */
export const RELAY_NODE_FLAGS = ['--optimize-for-size', '--no-concurrent-recompilation'] as const;
