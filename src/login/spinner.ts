// A one-line spinner on a terminal while login waits for the user (device
// flow polling, the browser redirect). Off a terminal it prints the message
// once, so logs and pipes get no control characters.

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const FRAME_MS = 100;

export interface Spinner {
  stop(): void;
}

/** Shows `message()` (re-read on every frame) on `stream` until stop(). */
export function startSpinner(stream: NodeJS.WriteStream, message: () => string): Spinner {
  if (!stream.isTTY) {
    stream.write(`${message()}\n`);
    return { stop: () => {} };
  }
  let frame = 0;
  const draw = () => {
    stream.write(`\r\x1b[2K${FRAMES[frame % FRAMES.length]} ${message()}`);
    frame += 1;
  };
  draw();
  const timer = setInterval(draw, FRAME_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}
