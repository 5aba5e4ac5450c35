/**
 * Imported first by the CLI, before any other module is loaded: V8 is told
 * to favour memory over speed. The relay's work is I/O-bound (ROD, SQLite's
 * fsync, SMTP) while sending a mail makes a lot of short-lived garbage
 * (nodemailer's MIME streams); with the default heap growth the heap grew to
 * several times what is live before V8 collected it, and the process's peak
 * RSS with the backlog (see docs/performance.md). The image passes the flag
 * on node's command line as well, which also covers what V8 sets up before
 * this module runs (the simulator started from the image gets the flag from
 * there; it works, only slower to start).
 */
import { setFlagsFromString } from 'node:v8';


// Not for the simulator: it builds a feed of up to 250,000 meldingen in memory at start, and a heap kept
// small makes V8 collect over and over while it grows.
if (process.argv[2] !== 'simulator') setFlagsFromString('--optimize-for-size');
