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

/**
 * The environment the relay runs with, as the image sets it (Dockerfile ENV) and the shebang passes it.
 * glibc's malloc raises its threshold for serving a large block by mmap each time such a block is freed,
 * up to 32 MB, and from then on keeps large blocks (a page's answer of some 800 KB, its buffers) in the
 * process heap, which it seldom gives back. A fixed threshold of 128 KB (the default, without the raising)
 * keeps them mapped apart and returned when freed: over Edukoppeling the peak RSS with 5,000 meldingen
 * went from 148–152 to 140–141 MiB (docs/performance.md). Must be set before node starts.
 */
export const RELAY_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' } as const;
