// The interactive command gate end to end with bash on the target (scenarios in gate-scenarios.ts).
import { describeCommandGate } from "./gate-scenarios.js";

describeCommandGate("bash");
