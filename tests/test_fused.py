"""lstmkit.fused: what the fused loops share."""

import numpy as np
import pytest
import tensorflow as tf

from lstmkit.fused import recurrent_kernel_gradient


@pytest.mark.parametrize("steps", [1, 2, 17])
def test_recurrent_kernel_gradient_is_the_sum_over_steps_of_the_previous_state_products(steps):
    rng = np.random.default_rng(steps)
    h0 = rng.normal(size=(3, 4))
    h_seq = rng.normal(size=(steps, 3, 4))
    dz_seq = rng.normal(size=(steps, 3, 8))
    h_prev = np.concatenate([h0[None], h_seq[:-1]])
    expected = np.einsum("tbi,tbj->ij", h_prev, dz_seq)
    got = recurrent_kernel_gradient(*(tf.constant(a, tf.float32) for a in (h0, h_seq, dz_seq)))
    np.testing.assert_allclose(got, expected, atol=1e-5)
