import { z } from 'zod';
import { describeValue } from '../schema/primitives';

export const LABEL_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;
export type LabelSelectorOperator = (typeof LABEL_SELECTOR_OPERATORS)[number];
export const FIELD_SELECTOR_OPERATORS = [...LABEL_SELECTOR_OPERATORS, 'Gt', 'Lt'] as const;
export type FieldSelectorOperator = (typeof FIELD_SELECTOR_OPERATORS)[number];

// The anchor CRD's enum spells it "DoesNotexist"; manifests written against it stay valid.
const MISSPELLED_DOES_NOT_EXIST = 'DoesNotexist';

function operatorSchema<T extends readonly string[]>(operators: T) {
  const accepted = [...operators, MISSPELLED_DOES_NOT_EXIST] as const;
  return z
    .enum(accepted, {
      error: (i) => `unknown operator ${describeValue(i.input)}, expected one of ${operators.join(', ')}`,
    })
    .transform((op) => (op === MISSPELLED_DOES_NOT_EXIST ? 'DoesNotExist' : op) as T[number]);
}

type Requirement = { operator: string; values?: string[] | undefined };

function checkValues(requirement: Requirement, ctx: z.RefinementCtx): void {
  const values = requirement.values ?? [];
  const op = requirement.operator;
  if ((op === 'In' || op === 'NotIn') && values.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${op} needs at least one value` });
  } else if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['values'], message: `operator ${op} takes no values` });
  } else if (op === 'Gt' || op === 'Lt') {
    if (values.length !== 1 || !/^-?\d+$/.test(values[0] ?? '')) {
      ctx.addIssue({
        code: 'custom',
        path: ['values'],
        message: `operator ${op} needs exactly one integer value, got ${describeValue(values)}`,
      });
    }
  }
}

const SelectorKey = z.string().min(1, { error: 'expected a non-empty key' });

export const LabelSelectorRequirementSchema = z
  .object({
    key: SelectorKey.describe('Pod label name'),
    operator: operatorSchema(LABEL_SELECTOR_OPERATORS),
    values: z.array(z.string()).optional(),
  })
  .superRefine(checkValues);
export type LabelSelectorRequirement = z.output<typeof LabelSelectorRequirementSchema>;

export const FieldSelectorRequirementSchema = z
  .object({
    key: SelectorKey.describe('Dotted path into the pod object, e.g. spec.nodeName'),
    operator: operatorSchema(FIELD_SELECTOR_OPERATORS),
    values: z.array(z.string()).optional(),
  })
  .superRefine(checkValues);
export type FieldSelectorRequirement = z.output<typeof FieldSelectorRequirementSchema>;

/** Selects pods: every given criterion must hold; an empty selector selects every pod. */
export const SelectorSchema = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional().describe('Pod labels that must all be equal'),
    matchExpressions: z.array(LabelSelectorRequirementSchema).optional(),
    matchFields: z.array(FieldSelectorRequirementSchema).optional(),
    matchNamespace: z.string().min(1).optional().describe('Selects pods of this namespace only'),
    matchService: z.string().min(1).optional().describe('Selects the ready pods behind this Service'),
  })
  .describe('Pod selector');
export type Selector = z.output<typeof SelectorSchema>;
