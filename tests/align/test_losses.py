import pytest
import torch

from semsum.align import losses


def _linear_discriminator(w: torch.Tensor) -> losses.Discriminator:
    disc = losses.Discriminator(in_dim=len(w), width=4, depth=0)
    with torch.no_grad():
        disc.head.weight.copy_(w[None])
        disc.head.bias.zero_()
    return disc


def test_gradient_penalties_match_the_closed_form_for_a_linear_critic():
    w = torch.tensor([3.0, 4.0])  # |grad D| = 5 everywhere
    disc = _linear_discriminator(w)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    assert losses.gradient_penalty(disc, real, fake, "r1").item() == pytest.approx(25 / 2)
    assert losses.gradient_penalty(disc, real, fake, "wgan-gp").item() == pytest.approx(16.0)


def test_conditional_discriminator_reads_the_condition():
    disc = losses.Discriminator(in_dim=3, width=8, depth=1, cond_dim=2)
    y = torch.randn(4, 3)
    a, _ = disc(y, torch.zeros(4, 2))
    b, _ = disc(y, torch.ones(4, 2))
    assert a.shape == (4,) and not torch.allclose(a, b)


def test_spectral_norm_bounds_each_layer():
    disc = losses.Discriminator(in_dim=16, width=16, depth=2, spectral=True)
    for _ in range(20):  # power iterations converge in training mode
        disc(torch.randn(4, 16))
    disc.eval()
    for layer in [*disc.body[::2], disc.head]:
        assert torch.linalg.matrix_norm(layer.weight, ord=2).item() == pytest.approx(1.0, abs=0.05)


def test_gan_losses_and_the_non_saturating_generator_loss():
    confident_fake = torch.full((5,), -10.0)
    assert losses.discriminator_loss(torch.full((5,), 10.0), confident_fake).item() < 1e-3
    # log(1 - D) would saturate (gradient ~0) here; the non-saturating loss still pushes strongly.
    logit = confident_fake.clone().requires_grad_(True)
    losses.generator_loss(logit).backward()
    assert logit.grad.abs().mean().item() > 0.1


def test_feature_matching_paired_and_unpaired():
    real = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    swapped = real.flip(0)
    assert losses.feature_matching_loss(real, swapped, paired=False).item() == 0.0
    assert losses.feature_matching_loss(real, swapped, paired=True).item() == pytest.approx(1.0)


def test_vsp_is_zero_for_a_rotation_and_positive_otherwise():
    x = torch.randn(16, 4)
    q, _ = torch.linalg.qr(torch.randn(4, 4))
    assert losses.vsp_loss(x, x @ q).item() == pytest.approx(0.0, abs=1e-6)
    assert losses.vsp_loss(x, torch.randn(16, 4)).item() > 0.01
