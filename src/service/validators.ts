/** The server's `InputValidators` port: the engine's rules parser and the mapping schema. */
import type { CrmName, JsonValue } from '../../connectors/contract.js';
import { parseRules } from '../engine/index.js';
import type { InputValidators } from '../server/deps.js';
import { loadMapping } from '../sync/mapping.js';

export const pipelineValidators: InputValidators = {
  rules(input: unknown): JsonValue {
    parseRules(input); // throws an AppError listing every bad member
    return input as JsonValue;
  },
  mappingOverride(crm: CrmName, input: unknown): JsonValue {
    loadMapping(crm, input); // the merged mapping must be valid, not only the override
    return input as JsonValue;
  },
};
