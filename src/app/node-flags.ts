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
 * Both must be set before node starts.
 *
 * MALLOC_MMAP_THRESHOLD_: glibc's malloc raises its threshold for serving a large block by mmap each time
 * such a block is freed, up to 32 MB, and from then on keeps large blocks (a page's answer of some 800 KB,
 * its buffers) in the process heap, which it seldom gives back. A fixed threshold of 128 KB (the default,
 * without the raising) keeps them mapped apart and returned when freed: over Edukoppeling the peak RSS with
 * 5,000 meldingen went from 148–152 to 140–141 MiB (docs/performance.md).
 *
 * MALLOC_TRIM_THRESHOLD_: fixing the mmap threshold also stops glibc raising its trim threshold with it, so
 * the heap was given back to the kernel (brk) whenever 128 KB at its top were free, and taken again at the
 * next allocation. SQLite's page cache frees the pages a page's transaction dirtied (some megabytes) at each
 * commit: storing the 6,416 mutations of the bench's REST feed made some 7,600 brk calls instead of 400,
 * each shrink a TLB flush across both vCPUs, and page faults on the way back; the kernel time of storing a
 * page tripled. Keeping up to 4 MB free before trimming brings the calls back under 200 and fetch + store
 * to about half the CPU; the heap keeps a little more at the peak (2–5 MiB on the bench's peak RSS; 16 MB
 * cost 5–8 MiB for no more speed). docs/performance.md has the figures.
 */
export const RELAY_ENV = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_TRIM_THRESHOLD_: '4194304' } as const;
