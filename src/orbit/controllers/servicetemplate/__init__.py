"""The ServiceTemplate controller: renders each template with its defaults on a sample cluster
and reports in its status whether it is valid, and why not (with the line)."""

from orbit.controllers.servicetemplate.controller import ServiceTemplateReconciler

__all__ = ["ServiceTemplateReconciler"]
