// The menu shown in a terminal when the SSH user name is not a target: a
// numbered list of the targets the user may reach; the user types a number.

import type { ServerChannel } from "ssh2";
import type { Target } from "../policy/index.js";

export interface MenuChoice {
  target: Target;
  logins: readonly string[];
}

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = new Set([0x08, 0x7f]);
const MAX_INPUT = 8;

/** Resolves to the chosen target, or undefined when the user gives up. */
export function runTargetMenu(
  channel: ServerChannel,
  choices: readonly MenuChoice[],
): Promise<Target | undefined> {
  if (choices.length === 0) {
    return Promise.reject(new Error("no targets are available to you"));
  }
  channel.write(renderMenu(choices));
  return new Promise((resolve) => {
    let typed = "";
    // Input typed after the choice waits (paused) for the target's shell.
    const finish = (target: Target | undefined, typedAhead: Buffer) => {
      channel.off("data", onData);
      channel.pause();
      if (typedAhead.length > 0) channel.unshift(typedAhead);
      channel.write("\r\n");
      resolve(target);
    };
    const onData = (data: Buffer) => {
      for (const [index, byte] of data.entries()) {
        const rest = data.subarray(index + 1);
        if (byte === CTRL_C || byte === CTRL_D) return finish(undefined, rest);
        if (byte === 0x0d || byte === 0x0a) {
          const chosen = choices[Number.parseInt(typed, 10) - 1];
          if (chosen) return finish(chosen.target, rest);
          typed = "";
          channel.write(`\r\nplease type a number from 1 to ${choices.length}: `);
        } else if (BACKSPACE.has(byte) && typed.length > 0) {
          typed = typed.slice(0, -1);
          channel.write("\b \b");
        } else if (byte >= 0x30 && byte <= 0x39 && typed.length < MAX_INPUT) {
          typed += String.fromCharCode(byte);
          channel.write(String.fromCharCode(byte));
        }
      }
    };
    channel.on("data", onData);
  });
}

function renderMenu(choices: readonly MenuChoice[]): string {
  const lines = choices.map((choice, index) => {
    const labels = [...choice.target.labels].map(([key, value]) => `${key}=${value}`).join(" ");
    return `  ${index + 1}) ${choice.target.name}  (${choice.logins.join(", ")})${labels ? `  ${labels}` : ""}`;
  });
  return `portcullis: targets you may reach:\r\n${lines.join("\r\n")}\r\nchoose a target: `;
}
