"""The model page (metrics of the latest training), the predict gallery, and search."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from capstone_cli.backends.base import Backend
from capstone_cli.web.charts import line_chart
from capstone_cli.web.server import endpoint, page
from capstone_cli.workflows.dashboard import model_report, predictions, search


def model_page(request: Request, b: Backend) -> Response:
    report = model_report(b)
    losses = report.loss_per_epoch()
    chart = line_chart(losses, "Training loss per epoch", "epoch", "loss") if losses else ""
    examples = report.metrics.get("examples") or []
    return page(request, "model.html", r=report, chart=chart, examples=examples)


def predict_page(request: Request, b: Backend) -> Response:
    return page(request, "predict.html", items=predictions(b))


def search_page(request: Request, b: Backend) -> Response:
    """Hits for `?q=`; a single hit redirects to it, so a pasted ID lands on its page."""
    query = request.query_params.get("q", "")
    hits = search(b, query)
    if len(hits) == 1 and request.query_params.get("go") != "0":
        return RedirectResponse(hits[0].href, status_code=303)
    return page(request, "search.html", q=query, hits=hits)


ROUTES = [
    Route("/model", endpoint(model_page)),
    Route("/predict", endpoint(predict_page)),
    Route("/search", endpoint(search_page)),
]
