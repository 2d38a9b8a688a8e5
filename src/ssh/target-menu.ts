// The menu shown in a terminal when the SSH user name is not a target: a
// numbered list of the targets the user may reach; the user types a number.

import type { ServerChannel } from "ssh2";
import type { Target } from "../policy/index.js";
import { LineInput } from "./line-input.js";

export interface MenuChoice {
  target: Target;
  logins: readonly string[];
}

const MAX_INPUT = 8;
const isDigit = (byte: number) => byte >= 0x30 && byte <= 0x39;

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
    const input = new LineInput((text) => channel.write(text), {
      maxBytes: MAX_INPUT,
      accepts: isDigit,
    });
    // Input typed after the choice waits (paused) for the target's shell.
    const finish = (target: Target | undefined, typedAhead: Buffer) => {
      channel.off("data", onData);
      channel.pause();
      if (typedAhead.length > 0) channel.unshift(typedAhead);
      channel.write("\r\n");
      resolve(target);
    };
    const onData = (data: Buffer): void => {
      let event = input.feed(data);
      let chosen: MenuChoice | undefined;
      while (event?.kind === "line") {
        chosen = choices[Number.parseInt(event.text, 10) - 1];
        if (chosen) break;
        channel.write(`\r\nplease type a number from 1 to ${choices.length}: `);
        event = input.feed(event.rest);
      }
      if (event !== undefined) finish(chosen?.target, event.rest);
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
