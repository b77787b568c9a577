// `informer pipeline init`: a commented example pipeline for the bundled Alibaba pod CPU trace.

/** The example pipeline file; `dataPath` is where the bundled CSV is, as the file should name it. */
export function examplePipeline(dataPath: string): string {
  return `# An informer-node pipeline: preprocess -> train -> evaluate -> register -> export -> deploy.
# Run it:      informer pipeline run pipeline.yaml
# Resume it:   informer pipeline run --resume <pipeline run id>   (add the file to change settings)
# For KFP:     informer pipeline compile pipeline.yaml --image <image> --output pipeline.kfp.yaml
# Every key is checked against schemas/pipeline.schema.json; an unknown key is an error.
name: pod-cpu                     # lower-case letters, digits and '-' (a KFP / Kubernetes name)
description: one pod's CPU utilisation, 6 minutes ahead

data:
  path: ${JSON.stringify(dataPath)}   # CSV or Parquet, relative to this file
  # paths: [a.csv, b.csv]         # a fleet: one series (and one model) per file
  # seriesColumn: pod_id          # a fleet in long format: one model per value of this column
  dateColumn: date
  target: cpu_utilization
  features: S                     # S: target -> target, M: all -> all, MS: all -> target
  freq: 1min                      # default: inferred from the dates
  fill: linear                    # missing steps (the trace lacks a few minutes): none (an error), ffill, linear or zero
  split: [0.7, 0.1, 0.2]          # train / validation / test ratios (or ett-hour, ett-minute)

model:                            # Informer settings (camelCase twins of the reference arguments)
  seqLen: 12
  labelLen: 12
  predLen: 6
  dModel: 32
  nHeads: 4
  eLayers: 1
  dLayers: 1
  dFf: 128

training:
  epochs: 6
  batchSize: 32
  learningRate: 0.0001
  patience: 3
  seed: 0

gate:
  minSkill: 0                     # fail unless the model beats the naive last-value forecast
  metric: mse                     # what decides whether a new version beats the champion

register:
  name: pod-cpu                   # a fleet: a pattern such as pod-cpu-{series}
  alias: champion                 # moves to a new version only if it beats the current one

export:
  formats: [mlflow, triton]       # add kserve (with storageUri) for an InferenceService
  # storageUri: s3://models/pod-cpu

deploy:
  target: none                    # none | local (informer serve, hot-swapped) | kubernetes (KServe)
  # url: http://127.0.0.1:8080    # local: a running informer serve --model-control explicit
  # namespace: models             # kubernetes
  # timeoutSeconds: 300

# fleet:
#   concurrency: 2                # models trained at once here (default: the CPUs)
#   parallelism: 4                # KFP ParallelFor parallelism
#   global: true                  # also one model trained on the pooled windows of every series

# kfp:
#   image: ghcr.io/informer-node/informer-node:0.1.0
#   retries: 2
#   cpu: 1
#   memory: 2Gi

tracking:
  experiment: pod-cpu             # the store is --mlruns, MLFLOW_TRACKING_URI or ./mlruns
`;
}
