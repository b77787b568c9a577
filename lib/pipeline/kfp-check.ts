// The checks the Kubeflow Pipelines API server and driver make on a compiled pipeline before it runs:
// the schema version, the pipeline name, every component / executor / task / producer reference
// resolves, every required input of a component is given by each task that uses it (and nothing
// else is), dependencies name real tasks and form no cycle, loop iterators name their inputs, and
// every placeholder in a container's command line names an input or output of its component.
import { FormatError } from '../errors.js';

// biome-ignore lint/suspicious/noExplicitAny: a compiled pipeline is walked as untyped JSON
type Json = Record<string, any>;

const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,126}[a-z0-9])?$/;
const SCHEMA_VERSIONS = ['2.0.0', '2.1.0'];

/** Every problem found (empty: the pipeline would be accepted). */
export function pipelineSpecProblems(spec: Json): string[] {
  const problems: string[] = [];
  const fail = (m: string) => problems.push(m);
  if (!SCHEMA_VERSIONS.includes(spec.schemaVersion))
    fail(`schemaVersion must be one of ${SCHEMA_VERSIONS.join(', ')}, got ${JSON.stringify(spec.schemaVersion)}`);
  const name = spec.pipelineInfo?.name;
  if (typeof name !== 'string' || !NAME_RE.test(name))
    fail(`pipelineInfo.name must be lower-case letters, digits and '-', got ${JSON.stringify(name)}`);
  const components: Json = spec.components ?? {};
  const executors: Json = spec.deploymentSpec?.executors ?? {};
  for (const [cname, c] of Object.entries(components) as [string, Json][]) {
    if ((c.executorLabel === undefined) === (c.dag === undefined)) fail(`components.${cname}: needs exactly one of executorLabel and dag`);
    if (c.executorLabel !== undefined && executors[c.executorLabel] === undefined)
      fail(`components.${cname}: executor ${c.executorLabel} is not in deploymentSpec.executors`);
  }
  for (const [ename, e] of Object.entries(executors) as [string, Json][]) {
    const users = Object.entries(components).filter(([, c]) => (c as Json).executorLabel === ename);
    if (users.length === 0) fail(`deploymentSpec.executors.${ename}: no component uses it`);
    const ctr = e.container;
    if (ctr === undefined || typeof ctr.image !== 'string' || ctr.image === '')
      fail(`deploymentSpec.executors.${ename}: a container with an image is required`);
    for (const [, c] of users) {
      for (const text of [...(ctr?.command ?? []), ...(ctr?.args ?? [])] as string[]) {
        for (const m of text.matchAll(/\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\]/g)) {
          const defs = (c as Json)[m[1] === 'inputs' ? 'inputDefinitions' : 'outputDefinitions']?.[m[2]!] ?? {};
          if (defs[m[3]!] === undefined)
            fail(`deploymentSpec.executors.${ename}: placeholder ${m[0]}...}} names no ${m[1]} ${m[2]} of its component`);
        }
      }
    }
  }
  const checkDag = (where: string, comp: Json): void => {
    const tasks: Json = comp.dag?.tasks ?? {};
    const own = comp.inputDefinitions ?? {};
    for (const [tname, t] of Object.entries(tasks) as [string, Json][]) {
      const at = `${where}.dag.tasks.${tname}`;
      const ref = t.componentRef?.name;
      const target = components[ref];
      if (target === undefined) {
        fail(`${at}: componentRef ${JSON.stringify(ref)} is not a component`);
        continue;
      }
      for (const d of t.dependentTasks ?? []) if (tasks[d] === undefined) fail(`${at}: dependent task ${d} is not in the same DAG`);
      const given = { parameters: t.inputs?.parameters ?? {}, artifacts: t.inputs?.artifacts ?? {} } as Json;
      for (const kind of ['parameters', 'artifacts'] as const) {
        const defs: Json = target.inputDefinitions?.[kind] ?? {};
        for (const [p, def] of Object.entries(defs) as [string, Json][]) {
          const iteratorItem = t.parameterIterator?.itemInput === p;
          if (given[kind][p] === undefined && !def.isOptional && def.defaultValue === undefined && !iteratorItem)
            fail(`${at}: required input ${kind.slice(0, -1)} '${p}' of ${ref} is not given`);
        }
        for (const [p, v] of Object.entries(given[kind]) as [string, Json][]) {
          if (defs[p] === undefined && t.parameterIterator?.items?.inputParameter !== p)
            fail(`${at}: input ${p} is not an input of ${ref}`);
          const src = v.taskOutputArtifact ?? v.taskOutputParameter;
          if (src !== undefined) {
            const producer = tasks[src.producerTask];
            if (producer === undefined) fail(`${at}: input ${p}: producer task ${src.producerTask} is not in the same DAG`);
            else {
              if (!(t.dependentTasks ?? []).includes(src.producerTask))
                fail(`${at}: input ${p}: producer ${src.producerTask} is not in dependentTasks`);
              const key = src.outputArtifactKey ?? src.outputParameterKey;
              const outs = components[producer.componentRef?.name]?.outputDefinitions?.[kind] ?? {};
              if (outs[key] === undefined) fail(`${at}: input ${p}: ${src.producerTask} has no output ${kind.slice(0, -1)} '${key}'`);
            }
          }
          if (v.componentInputParameter !== undefined && own.parameters?.[v.componentInputParameter] === undefined)
            fail(`${at}: input ${p}: ${v.componentInputParameter} is not a parameter of ${where}`);
          if (v.componentInputArtifact !== undefined && own.artifacts?.[v.componentInputArtifact] === undefined)
            fail(`${at}: input ${p}: ${v.componentInputArtifact} is not an artifact of ${where}`);
        }
      }
      if (t.parameterIterator !== undefined) {
        const items = t.parameterIterator.items?.inputParameter;
        if (items !== undefined && given.parameters[items] === undefined)
          fail(`${at}: iterator items ${items} is not one of the task's inputs`);
        if (target.inputDefinitions?.parameters?.[t.parameterIterator.itemInput] === undefined)
          fail(`${at}: iterator item ${t.parameterIterator.itemInput} is not a parameter of ${ref}`);
      }
    }
    // No cycles among the dependencies.
    const state = new Map<string, number>();
    const visit = (n: string): boolean => {
      if (state.get(n) === 1) return false;
      if (state.get(n) === 2) return true;
      state.set(n, 1);
      for (const d of tasks[n]?.dependentTasks ?? []) if (tasks[d] && !visit(d)) return false;
      state.set(n, 2);
      return true;
    };
    for (const n of Object.keys(tasks)) if (!visit(n)) fail(`${where}: the task dependencies form a cycle through ${n}`);
    for (const t of Object.values(tasks) as Json[]) {
      const target = components[t.componentRef?.name];
      if (target?.dag !== undefined) checkDag(`components.${t.componentRef.name}`, target);
    }
  };
  if (spec.root?.dag === undefined) fail('root.dag is required');
  else checkDag('root', spec.root);
  return problems;
}

/** Throws a FormatError listing every problem. */
export function checkPipelineSpec(spec: Json): void {
  const problems = pipelineSpecProblems(spec);
  if (problems.length > 0) throw new FormatError(`the compiled pipeline would be refused:\n  ${problems.join('\n  ')}`);
}
