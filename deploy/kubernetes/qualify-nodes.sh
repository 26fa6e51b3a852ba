#!/bin/bash
# One Job per node, each pinned to its node (node affinity on metadata.name, as a
# DaemonSet's pods are), so a pod that is retried (exit 3,
# an eviction) runs again on the node it qualifies, never on another one:
#
#     deploy/kubernetes/qualify-nodes.sh gpu-a gpu-b gpu-c | kubectl apply -f -
#     deploy/kubernetes/qualify-nodes.sh $(kubectl get nodes -l nvidia.com/gpu.present=true \
#         -o jsonpath='{.items[*].metadata.name}') | kubectl apply -f -
#
# Each Job is the pod of qualify-job.yaml (the same image, command, resources, /dev/shm,
# claim and podFailurePolicy: a verdict is not retried, a broken run is, once), with
# completions 1 and the node named. Then merge with fleet-job.yaml, EXPECT_NODES set to the
# same names. The claim is defined in qualify-job.yaml (apply that file's first document,
# or create the claim yourself).
#
# Exit 4 for no node or a name that is not a Kubernetes node name.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 NODE... | kubectl apply -f -" >&2
    exit 4
fi
gpus="${STACKQUAL_GPUS:-8}"
image="${STACKQUAL_IMAGE:-registry.example.com/stackqual:latest}"
for node in "$@"; do
    if ! [[ "$node" =~ ^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$ ]] || [ ${#node} -gt 253 ]; then
        echo "$0: '$node' is not a Kubernetes node name" >&2
        exit 4
    fi
done
for node in "$@"; do
    job="stackqual-qualify-${node//./-}"
    cat <<YAML
---
apiVersion: batch/v1
kind: Job
metadata:
  name: ${job:0:63}
  labels:
    app.kubernetes.io/name: stackqual-qualify
    stackqual/node: ${node:0:63}
spec:
  completions: 1
  backoffLimit: 1
  activeDeadlineSeconds: 14400
  podFailurePolicy:
    rules:
      - action: FailJob
        onExitCodes:
          containerName: qualify
          operator: In
          values: [1, 2, 4]
  template:
    metadata:
      labels:
        app.kubernetes.io/name: stackqual-qualify
    spec:
      restartPolicy: Never
      # Through the scheduler (not nodeName, which bypasses it): a busy or cordoned node
      # keeps the pod pending until activeDeadlineSeconds, never runs it elsewhere.
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchFields:
                  - {key: metadata.name, operator: In, values: ["${node}"]}
      containers:
        - name: qualify
          image: ${image}
          command: ["stackqual", "qualify", "--each-gpu", "--expect-gpus", "${gpus}",
                    "--node", "${node}", "--report-dir", "/reports"]
          resources:
            requests: {cpu: "32", memory: 256Gi, nvidia.com/gpu: ${gpus}}
            limits: {cpu: "32", memory: 256Gi, nvidia.com/gpu: ${gpus}}
          volumeMounts:
            - {name: reports, mountPath: /reports}
            - {name: shm, mountPath: /dev/shm}
      volumes:
        - name: reports
          persistentVolumeClaim:
            claimName: stackqual-reports
        - name: shm
          emptyDir: {medium: Memory, sizeLimit: 16Gi}
YAML
done
