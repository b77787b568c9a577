// A strict proto3-JSON reader for tests: parses a plain object as a protobufjs message type and
// rejects what the proto does not define (unknown fields, two members of one oneof, unknown enum
// names, wrong scalar types), naming the path. protobufjs' own fromObject ignores unknown fields.
import { join } from 'node:path';
import protobuf from 'protobufjs';

/** Loads ../shared/schemas/kfp/pipeline_spec.proto (google/rpc from its folder, google/protobuf built in). */
export function loadKfpProto(kfpDir) {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    if (target.startsWith('google/protobuf/')) return target; // protobufjs' bundled common types
    return target.startsWith('google/') ? join(kfpDir, target) : protobuf.util.path.resolve(origin, target);
  };
  root.loadSync(join(kfpDir, 'pipeline_spec.proto'), { keepCase: false });
  root.resolveAll();
  return root;
}

const INTS = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function checkScalar(type, v, at, problems) {
  if (INTS.has(type)) {
    const n = typeof v === 'string' ? Number(v) : v;
    if (!Number.isInteger(n)) problems.push(`${at}: ${type} expected, got ${JSON.stringify(v)}`);
  } else if (type === 'double' || type === 'float') {
    if (typeof v !== 'number') problems.push(`${at}: number expected, got ${JSON.stringify(v)}`);
  } else if (type === 'bool') {
    if (typeof v !== 'boolean') problems.push(`${at}: bool expected, got ${JSON.stringify(v)}`);
  } else if (type === 'string') {
    if (typeof v !== 'string') problems.push(`${at}: string expected, got ${JSON.stringify(v)}`);
  } else if (type === 'bytes') {
    if (typeof v !== 'string') problems.push(`${at}: base64 string expected`);
  } else problems.push(`${at}: unhandled type ${type}`);
}

function checkValue(field, resolved, v, at, problems) {
  if (resolved instanceof protobuf.Enum) {
    if (!(typeof v === 'string' ? v in resolved.values : Object.values(resolved.values).includes(v)))
      problems.push(`${at}: ${JSON.stringify(v)} is not a value of ${resolved.name}`);
  } else if (resolved instanceof protobuf.Type) checkMessage(resolved, v, at, problems);
  else checkScalar(field.type, v, at, problems);
}

/** Problems of `obj` read as message `type` (empty: it parses). */
export function checkMessage(type, obj, at = type.name, problems = []) {
  const full = type.fullName;
  // Well-known types with special JSON forms.
  if (full === '.google.protobuf.Struct') {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) problems.push(`${at}: a JSON object expected for Struct`);
    return problems;
  }
  if (full === '.google.protobuf.Value' || full === '.google.protobuf.ListValue') return problems;
  if (full === '.google.protobuf.Duration') {
    if (typeof obj !== 'string' || !/^-?\d+(\.\d+)?s$/.test(obj))
      problems.push(`${at}: a Duration like "30s" expected, got ${JSON.stringify(obj)}`);
    return problems;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    problems.push(`${at}: an object expected for ${type.name}, got ${JSON.stringify(obj)}`);
    return problems;
  }
  const byJsonName = new Map();
  for (const f of type.fieldsArray) {
    byJsonName.set(f.name, f); // keepCase false: camelCase
    byJsonName.set(protobuf.util.camelCase(f.name), f);
  }
  const oneofSeen = new Map();
  for (const [k, v] of Object.entries(obj)) {
    const f = byJsonName.get(k);
    const here = `${at}.${k}`;
    if (f === undefined) {
      problems.push(`${here}: unknown field of ${type.name}`);
      continue;
    }
    if (f.partOf) {
      if (oneofSeen.has(f.partOf.name)) problems.push(`${here}: oneof ${f.partOf.name} already has ${oneofSeen.get(f.partOf.name)}`);
      oneofSeen.set(f.partOf.name, k);
    }
    f.resolve();
    if (f.map) {
      if (typeof v !== 'object' || v === null) problems.push(`${here}: a map expected`);
      else for (const [mk, mv] of Object.entries(v)) checkValue(f, f.resolvedType, mv, `${here}[${mk}]`, problems);
    } else if (f.repeated) {
      if (!Array.isArray(v)) problems.push(`${here}: a list expected`);
      else v.forEach((x, i) => checkValue(f, f.resolvedType, x, `${here}[${i}]`, problems));
    } else checkValue(f, f.resolvedType, v, here, problems);
  }
  return problems;
}
