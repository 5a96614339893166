"""Reverse-mode automatic differentiation: Function, backward, grad, and the grad switches."""

from ember.autograd.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ember.autograd.engine import backward, grad
from ember.autograd.function import Function
from ember.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = [
    "Function", "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled",
]  # fmt: skip
