// The heartbeat's clock, in a Web Worker: webviews throttle a page's own timers when the
// window is minimised or covered, not a worker's. The worker only ticks; the page sends
// each heartbeat, so a page whose main thread hangs or dies stops sending them.
const PERIOD_MS = 100;
setInterval(() => postMessage('tick'), PERIOD_MS);
