"""One process of ``tests/test_distribute.py``: trains a small ``Input -> LSTM -> Dense(1)`` model
and writes its per-epoch losses and final weights to a JSON file.

    python tests/distribute_worker.py OUT.json

With ``TF_CONFIG`` set, the process is one worker of a ``tf.distribute.MultiWorkerMirroredStrategy``
cluster (every worker runs this same script) and trains ``lstmkit.LSTM`` under it; without, it
trains in a single process with no strategy, ``lstmkit.LSTM`` and ``keras.layers.LSTM``. Same
data, same initial weights and the same global batch everywhere: each replica's loss is its sum
over its rows divided by the *global* batch size and the optimizer sums the replicas' gradients,
so the strategy computes the single process's gradients.

Two ways to train: ``model.fit``, and a custom loop (``strategy.run`` of one step,
``optimizer.apply_gradients``, as in TensorFlow's custom-training-loop guide). The loop runs
everywhere; ``fit`` in a single process, and under the strategy only as an attempt whose outcome
is recorded: Keras 3 (3.15.1 here) fails in ``model.fit`` under MultiWorkerMirroredStrategy with
more than one worker, before the first step and whatever the layers (keras-team/keras#20585):
``Trainer._maybe_symbolic_build`` passes the (x, y) batch to ``strategy.reduce``, which that
strategy's ``_reduce_to`` does not map over a nest.

Not a test module (pytest collects ``test_*.py`` only).
"""

import json
import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SAMPLES, STEPS, FEATURES, UNITS = 64, 8, 3, 8
GLOBAL_BATCH, EPOCHS, LEARNING_RATE = 16, 3, 0.1


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, STEPS, FEATURES)).astype("float32")
    y = np.tanh(x.sum(axis=(1, 2)) / 4)[:, None].astype("float32")
    return x, y


def initial_weights(model) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [0.3 * rng.normal(size=w.shape).astype("float32") for w in model.get_weights()]


def main(out: str) -> None:
    import tensorflow as tf

    # MultiWorkerMirroredStrategy must exist before TensorFlow runs anything.
    multi_worker = "TF_CONFIG" in os.environ
    strategy = (
        tf.distribute.MultiWorkerMirroredStrategy()
        if multi_worker
        else tf.distribute.get_strategy()  # the default strategy: no distribution
    )
    import keras

    import lstmkit

    keras.config.disable_traceback_filtering()  # keep Keras' own frames in a recorded error
    from lstmkit import recurrence

    # The batch sizes lstmkit's fused loop was traced for and how it cut them into shards
    # (recorded, nothing changed): under a strategy the layer sees the per-replica batch.
    shard_calls: list = []
    batch_shards = recurrence.batch_shards

    def recording(batch, workers):
        shards = batch_shards(batch, workers)
        shard_calls.append({"batch": batch, "workers": workers, "shards": shards})
        return shards

    recurrence.batch_shards = recording

    x, y = data()
    options = tf.data.Options()
    # DATA: every global batch is cut into per-replica batches and worker k takes the k-th.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(GLOBAL_BATCH, drop_remainder=True)
        .with_options(options)
    )

    def model_in_scope(lstm):
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = keras.Sequential(
                [keras.Input((STEPS, FEATURES)), lstm(UNITS), keras.layers.Dense(1)]
            )
            model.set_weights(initial_weights(model))
            optimizer = keras.optimizers.SGD(LEARNING_RATE)
        return model, optimizer

    def result(model, losses) -> dict:
        calls = list(shard_calls)
        del shard_calls[:]
        return {
            "losses": [float(v) for v in losses],
            "weights": [w.tolist() for w in model.get_weights()],
            "shard_calls": calls,
        }

    def fit(lstm) -> dict:
        model, optimizer = model_in_scope(lstm)
        with strategy.scope():
            model.compile(optimizer=optimizer, loss="mse")
        history = model.fit(dataset, epochs=EPOCHS, shuffle=False, verbose=0)
        return result(model, history.history["loss"])

    def loop(lstm) -> dict:
        model, optimizer = model_in_scope(lstm)
        with strategy.scope():
            optimizer.build(model.trainable_variables)

        def replica_step(x, y):
            with tf.GradientTape() as tape:
                per_row = keras.losses.mean_squared_error(y, model(x, training=True))
                loss = tf.reduce_sum(per_row) / GLOBAL_BATCH
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        @tf.function
        def step(x, y):
            per_replica = strategy.run(replica_step, args=(x, y))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        # A fixed number of steps from a repeated dataset: no end-of-data check across workers.
        batches = iter(strategy.experimental_distribute_dataset(dataset.repeat()))
        per_epoch = SAMPLES // GLOBAL_BATCH
        losses = [
            np.mean([float(step(*next(batches))) for _ in range(per_epoch)]) for _ in range(EPOCHS)
        ]
        return result(model, losses)

    report = {
        "lstmkit_file": lstmkit.__file__,
        "replicas": strategy.num_replicas_in_sync,
        "task": json.loads(os.environ.get("TF_CONFIG", "{}")).get("task"),
        "results": {"lstmkit loop": loop(lstmkit.LSTM)},
    }
    if not multi_worker:
        report["results"]["lstmkit fit"] = fit(lstmkit.LSTM)
        report["results"]["keras fit"] = fit(keras.layers.LSTM)
    else:
        try:
            report["results"]["lstmkit fit"] = fit(lstmkit.LSTM)
        except Exception as error:  # recorded for the test to judge
            report["fit_error"] = {
                "type": type(error).__name__,
                "message": str(error)[:200] + " ... " + str(error)[-200:],
                "functions": [frame.name for frame in traceback.extract_tb(error.__traceback__)],
            }
    with open(out, "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1])
