// The policy entry the masking benchmarks use: group `masked` on web1 with
// every built-in masking detector on the output.
import { MASK_DETECTORS } from "../src/policy/index.js";

export const MASKED_ENTRY = `access:
  - name: masked-bench
    subjects: { groups: [masked] }
    targets: { names: [web1] }
    commands: [baseline]
    mask: [${MASK_DETECTORS.join(", ")}]
`;
