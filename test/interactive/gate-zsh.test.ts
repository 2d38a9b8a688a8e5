// The interactive command gate end to end with zsh on the target (scenarios in gate-scenarios.ts).
import { describeCommandGate } from "./gate-scenarios.js";

describeCommandGate("zsh");
