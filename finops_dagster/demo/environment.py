"""The offline demo's AWS: a moto server (S3, CloudWatch, STS) and the Cost Explorer endpoint,
loaded with the generated data and reached by boto3 through the standard
``AWS_ENDPOINT_URL_<SERVICE>`` variables, exactly as production reaches AWS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from finops_dagster.demo import catalog as C
from finops_dagster.demo.aws import aws_environ, moto_server, upload_tree
from finops_dagster.demo.cost_explorer_server import EndpointState, dataset_from_cur, plant_drift, serve
from finops_dagster.demo.generator import DemoConfig, _fleet, restate
from finops_dagster.settings import DEMO_BUCKET, DEMO_PREFIX, temporary_environ


@dataclass
class DemoEndpoints:
    cur_export_url: str
    redeliver: Callable[[], dict]
    cost_explorer: EndpointState
    environ: dict[str, str]


@contextmanager
def demo_endpoints(cfg: DemoConfig, progress: Callable[[str], None] = print) -> Iterator[DemoEndpoints]:
    import boto3

    from finops_dagster.demo.cloudwatch_data import put_demo_metrics

    state = EndpointState(
        data=plant_drift(dataset_from_cur(cfg.export_root)),
        page_size=500,
        estimated_from=C.CE_ESTIMATED_FROM,
        cost_categories={"Environment": ["prod", "dev", "shared"], "BusinessUnit": ["core", "growth"]},
    )
    with moto_server() as moto_url, serve(state) as ce_url:
        environ = {
            **aws_environ(moto_url),
            "AWS_ENDPOINT_URL_COST_EXPLORER": ce_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH": moto_url,
            "AWS_ENDPOINT_URL_STS": moto_url,
        }
        with temporary_environ(environ):
            s3 = boto3.client("s3")
            n = upload_tree(s3, cfg.export_root.parents[1], DEMO_BUCKET)
            progress(f"  moto at {moto_url}: uploaded {n} CUR objects to s3://{DEMO_BUCKET}")
            points = put_demo_metrics(
                boto3.client("cloudwatch"), _fleet(cfg.scale), C.DEMO_START, C.DEMO_END, cfg.seed
            )
            progress(f"  moto CloudWatch: {points} datapoints; Cost Explorer endpoint at {ce_url}")

            def redeliver() -> dict:
                planted = restate(cfg)
                upload_tree(s3, cfg.export_root.parents[1], DEMO_BUCKET)
                # Cost Explorer shows the final bill too: its data follows the restatement.
                state.data = plant_drift(dataset_from_cur(cfg.export_root))
                return planted

            yield DemoEndpoints(
                f"s3://{DEMO_BUCKET}/{DEMO_PREFIX}/{cfg.export_name}", redeliver, state, environ
            )
