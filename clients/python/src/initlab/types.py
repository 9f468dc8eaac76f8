"""Request and result types of the InitLab API, generated from openapi.yaml by tools/gen_types.py.

Do not edit: run ``python3 clients/python/tools/gen_types.py`` after changing the contract. The test
``tests/test_contract.py`` fails when this file and openapi.yaml drift apart.
"""

from typing import Any, Dict, List, Literal, Optional, TypedDict, Union


class _SweepRequestRequired(TypedDict):
    base: Dict[str, Any]
    vary: Dict[str, Any]


class SweepRequest(_SweepRequestRequired, total=False):
    """components/schemas/SweepRequest in openapi.yaml."""


class _SweepRequired(TypedDict):
    id: str
    created_at: str
    status: Literal['running', 'done']
    counts: Dict[str, int]
    base: Dict[str, Any]
    vary: Dict[str, Any]
    plot: str
    experiments: List[Dict[str, Any]]


class Sweep(_SweepRequired, total=False):
    """components/schemas/Sweep in openapi.yaml."""


class _InitZerosRequired(TypedDict):
    name: Literal['zeros']


class InitZeros(_InitZerosRequired, total=False):
    """components/schemas/InitZeros in openapi.yaml."""


class _InitConstantRequired(TypedDict):
    name: Literal['constant']


class InitConstant(_InitConstantRequired, total=False):
    """components/schemas/InitConstant in openapi.yaml."""

    value: float


class _InitNormalRequired(TypedDict):
    name: Literal['normal']


class InitNormal(_InitNormalRequired, total=False):
    """components/schemas/InitNormal in openapi.yaml."""

    mean: float
    std: float


class _InitUniformRequired(TypedDict):
    name: Literal['uniform']


class InitUniform(_InitUniformRequired, total=False):
    """components/schemas/InitUniform in openapi.yaml."""

    low: float
    high: float


class _InitTorchDefaultRequired(TypedDict):
    name: Literal['torch_default']


class InitTorchDefault(_InitTorchDefaultRequired, total=False):
    """components/schemas/InitTorchDefault in openapi.yaml."""


class _ExperimentSpecRequired(TypedDict):
    depth: int
    width: int
    batch: int
    init: Union[Literal['zeros', 'constant', 'normal', 'uniform', 'scaled_normal', 'xavier_uniform', 'xavier_normal', 'kaiming_uniform', 'kaiming_normal', 'lecun_uniform', 'lecun_normal', 'truncated_normal', 'orthogonal', 'delta_orthogonal', 'identity', 'torch_default', 'variance_scaling', 'lsuv', 'fixup'], "InitZeros", "InitConstant", "InitNormal", "InitUniform", Dict[str, Any], "InitTorchDefault"]
    activation: Union[Literal['identity', 'relu', 'leaky_relu', 'tanh', 'sigmoid', 'gelu', 'selu', 'elu', 'softplus', 'silu', 'general_relu'], Dict[str, Any]]


class ExperimentSpec(_ExperimentSpecRequired, total=False):
    """components/schemas/ExperimentSpec in openapi.yaml."""

    input_width: Optional[int]
    seed: Optional[int]
    backward: Optional[bool]
    bias_init: Optional[Union[Literal['zeros', 'constant', 'normal', 'uniform', 'torch_default'], "InitZeros", "InitConstant", "InitNormal", "InitUniform", "InitTorchDefault"]]
    weights: Optional[Literal['per_layer', 'shared']]
    architecture: Optional[Union[Literal['mlp', 'residual'], Dict[str, Any]]]
    histogram_bins: Optional[int]
    input: Optional[Union[Literal['gaussian'], Dict[str, Any]]]
    loss: Optional[Literal['none', 'mse', 'cross_entropy']]
    train: Optional["TrainSpec"]


class _ConvLayerRequired(TypedDict):
    channels: int
    kernel: int


class ConvLayer(_ConvLayerRequired, total=False):
    """components/schemas/ConvLayer in openapi.yaml."""

    stride: Optional[int]
    padding: Optional[int]
    dilation: Optional[int]
    pool: Optional[Union[Literal['max', 'avg'], Dict[str, Any]]]


class _TrainSpecRequired(TypedDict):
    dataset: Literal['mnist', 'fashion-mnist', 'teacher']
    steps: int


class TrainSpec(_TrainSpecRequired, total=False):
    """components/schemas/TrainSpec in openapi.yaml."""

    batch: Optional[int]
    optimizer: Optional[Union[Literal['sgd', 'adam', 'adamw'], "OptimizerSGD", "OptimizerAdam"]]
    schedule: Optional[Union[Literal['constant', 'cosine', 'one_cycle'], "ScheduleConstant", "ScheduleStep", "ScheduleCosine", "ScheduleOneCycle"]]
    eval_every: Optional[int]
    stats_every: Optional[int]
    validation_size: Optional[int]
    seed: Optional[int]
    targets: Optional[List[float]]


class _OptimizerSGDRequired(TypedDict):
    name: Literal['sgd']


class OptimizerSGD(_OptimizerSGDRequired, total=False):
    """components/schemas/OptimizerSGD in openapi.yaml."""

    lr: Optional[float]
    momentum: Optional[float]
    nesterov: Optional[bool]
    weight_decay: Optional[float]
    grad_clip: Optional[float]


class _OptimizerAdamRequired(TypedDict):
    name: Literal['adam', 'adamw']


class OptimizerAdam(_OptimizerAdamRequired, total=False):
    """components/schemas/OptimizerAdam in openapi.yaml."""

    lr: Optional[float]
    beta1: Optional[float]
    beta2: Optional[float]
    eps: Optional[float]
    weight_decay: Optional[float]
    grad_clip: Optional[float]


class _ScheduleConstantRequired(TypedDict):
    name: Literal['constant']


class ScheduleConstant(_ScheduleConstantRequired, total=False):
    """components/schemas/ScheduleConstant in openapi.yaml."""

    warmup_steps: Optional[int]


class _ScheduleStepRequired(TypedDict):
    name: Literal['step']
    step_size: int


class ScheduleStep(_ScheduleStepRequired, total=False):
    """components/schemas/ScheduleStep in openapi.yaml."""

    gamma: Optional[float]
    warmup_steps: Optional[int]


class _ScheduleCosineRequired(TypedDict):
    name: Literal['cosine']


class ScheduleCosine(_ScheduleCosineRequired, total=False):
    """components/schemas/ScheduleCosine in openapi.yaml."""

    min_lr: Optional[float]
    warmup_steps: Optional[int]


class _ScheduleOneCycleRequired(TypedDict):
    name: Literal['one_cycle']


class ScheduleOneCycle(_ScheduleOneCycleRequired, total=False):
    """components/schemas/ScheduleOneCycle in openapi.yaml."""

    pct_start: Optional[float]
    div: Optional[float]
    final_div: Optional[float]


class _TrainingResultRequired(TypedDict):
    steps: int
    train_loss: List[Optional[float]]
    learning_rate: List[Optional[float]]
    evals: List["EvalPoint"]
    snapshots: List["TrainingSnapshot"]
    summary: "TrainingSummary"


class TrainingResult(_TrainingResultRequired, total=False):
    """components/schemas/TrainingResult in openapi.yaml."""


class _EvalPointRequired(TypedDict):
    step: int
    loss: Optional[float]
    accuracy: Optional[float]


class EvalPoint(_EvalPointRequired, total=False):
    """components/schemas/EvalPoint in openapi.yaml."""


class _TrainingSnapshotRequired(TypedDict):
    step: int
    layers: List[Dict[str, Any]]


class TrainingSnapshot(_TrainingSnapshotRequired, total=False):
    """components/schemas/TrainingSnapshot in openapi.yaml."""


class _TrainingSummaryRequired(TypedDict):
    final_accuracy: Optional[float]
    final_loss: Optional[float]
    best_accuracy: Optional[float]
    best_step: int
    steps_to_target: List[Dict[str, Any]]
    diverged_at_step: Optional[int]
    chance_loss: Optional[float]
    stuck_at_chance: bool
    verdict: Literal['diverged', 'stuck_at_chance', 'not_learning', 'learns']
    explanation: str


class TrainingSummary(_TrainingSummaryRequired, total=False):
    """components/schemas/TrainingSummary in openapi.yaml."""


class _ProgressRequired(TypedDict):
    pass


class Progress(_ProgressRequired, total=False):
    """components/schemas/Progress in openapi.yaml."""

    layers_done: int
    layers_total: int
    steps_done: int
    steps_total: int


class _JobRequired(TypedDict):
    id: str
    status: Literal['queued', 'running', 'succeeded', 'failed', 'cancelled']
    spec: Dict[str, Any]
    progress: "Progress"
    attempt: int
    created_at: str


class Job(_JobRequired, total=False):
    """components/schemas/Job in openapi.yaml."""

    started_at: str
    finished_at: str
    error: str
    result_url: str


class _JobListRequired(TypedDict):
    experiments: List["Job"]


class JobList(_JobListRequired, total=False):
    """components/schemas/JobList in openapi.yaml."""

    next_page_token: str


class _FieldErrorRequired(TypedDict):
    pointer: str
    detail: str


class FieldError(_FieldErrorRequired, total=False):
    """components/schemas/FieldError in openapi.yaml."""


class _ProblemRequired(TypedDict):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    code: str
    request_id: str


class Problem(_ProblemRequired, total=False):
    """components/schemas/Problem in openapi.yaml."""

    links: Dict[str, str]
    errors: List["FieldError"]


class _ExperimentResultRequired(TypedDict):
    spec: Dict[str, Any]
    conventions: Dict[str, Any]
    layers: List[Dict[str, Any]]
    summary: Dict[str, Any]


class ExperimentResult(_ExperimentResultRequired, total=False):
    """components/schemas/ExperimentResult in openapi.yaml."""

    training: "TrainingResult"


class _ChannelMomentsRequired(TypedDict):
    mean: List[Optional[float]]
    std: List[Optional[float]]


class ChannelMoments(_ChannelMomentsRequired, total=False):
    """components/schemas/ChannelMoments in openapi.yaml."""


class _SchemeCatalogRequired(TypedDict):
    initializers: List["SchemeDescriptor"]
    activations: List["SchemeDescriptor"]


class SchemeCatalog(_SchemeCatalogRequired, total=False):
    """components/schemas/SchemeCatalog in openapi.yaml."""


class _SchemeDescriptorRequired(TypedDict):
    name: str
    kind: Literal['init', 'activation']
    formula: str
    summary: str
    parameters: List[Dict[str, Any]]


class SchemeDescriptor(_SchemeDescriptorRequired, total=False):
    """components/schemas/SchemeDescriptor in openapi.yaml."""


class _HealthRequired(TypedDict):
    status: Literal['ok']


class Health(_HealthRequired, total=False):
    """components/schemas/Health in openapi.yaml."""


class _ReadinessRequired(TypedDict):
    status: Literal['ready']
    checks: Dict[str, Any]


class Readiness(_ReadinessRequired, total=False):
    """components/schemas/Readiness in openapi.yaml."""


class _DatasetListRequired(TypedDict):
    datasets: List["Dataset"]


class DatasetList(_DatasetListRequired, total=False):
    """components/schemas/DatasetList in openapi.yaml."""


class _DatasetRequired(TypedDict):
    name: Literal['mnist', 'fashion-mnist']
    title: str
    cached: bool
    verified: Optional[bool]
    loaded: bool
    classes: int
    train: "DatasetSplit"
    test: "DatasetSplit"
    files: List["DatasetFile"]
    statistics: Optional["NormalizationStatistics"]
    fetch: "DatasetFetch"
    links: Dict[str, Any]


class Dataset(_DatasetRequired, total=False):
    """components/schemas/Dataset in openapi.yaml."""


class _DatasetSplitRequired(TypedDict):
    images: Optional[int]
    rows: int
    cols: int


class DatasetSplit(_DatasetSplitRequired, total=False):
    """components/schemas/DatasetSplit in openapi.yaml."""


class _DatasetFileRequired(TypedDict):
    name: str
    role: Literal['train_images', 'train_labels', 'test_images', 'test_labels']
    present: bool
    bytes: int
    partial_bytes: int
    checksum_matches: Optional[bool]


class DatasetFile(_DatasetFileRequired, total=False):
    """components/schemas/DatasetFile in openapi.yaml."""


class _PixelStatisticsRequired(TypedDict):
    mean: float
    std: float


class PixelStatistics(_PixelStatisticsRequired, total=False):
    """components/schemas/PixelStatistics in openapi.yaml."""


class _NormalizationStatisticsRequired(TypedDict):
    raw_train: "PixelStatistics"
    raw_test: "PixelStatistics"
    normalized_train: "PixelStatistics"
    normalized_test: "PixelStatistics"


class NormalizationStatistics(_NormalizationStatisticsRequired, total=False):
    """components/schemas/NormalizationStatistics in openapi.yaml."""


class _DatasetFetchRequired(TypedDict):
    state: Literal['idle', 'fetching', 'failed', 'ready']
    progress: Optional["DatasetFetchProgress"]
    error: Optional[str]
    started_at: Optional[str]
    finished_at: Optional[str]


class DatasetFetch(_DatasetFetchRequired, total=False):
    """components/schemas/DatasetFetch in openapi.yaml."""


class _DatasetFetchProgressRequired(TypedDict):
    files_done: int
    files_total: int
    file: Optional[str]
    bytes: int
    bytes_total: Optional[int]


class DatasetFetchProgress(_DatasetFetchProgressRequired, total=False):
    """components/schemas/DatasetFetchProgress in openapi.yaml."""


#: Every generated type by schema name (components/schemas in openapi.yaml).
SCHEMAS: Dict[str, Any] = {
    "SweepRequest": SweepRequest,
    "Sweep": Sweep,
    "InitZeros": InitZeros,
    "InitConstant": InitConstant,
    "InitNormal": InitNormal,
    "InitUniform": InitUniform,
    "InitTorchDefault": InitTorchDefault,
    "ExperimentSpec": ExperimentSpec,
    "ConvLayer": ConvLayer,
    "TrainSpec": TrainSpec,
    "OptimizerSGD": OptimizerSGD,
    "OptimizerAdam": OptimizerAdam,
    "ScheduleConstant": ScheduleConstant,
    "ScheduleStep": ScheduleStep,
    "ScheduleCosine": ScheduleCosine,
    "ScheduleOneCycle": ScheduleOneCycle,
    "TrainingResult": TrainingResult,
    "EvalPoint": EvalPoint,
    "TrainingSnapshot": TrainingSnapshot,
    "TrainingSummary": TrainingSummary,
    "Progress": Progress,
    "Job": Job,
    "JobList": JobList,
    "FieldError": FieldError,
    "Problem": Problem,
    "ExperimentResult": ExperimentResult,
    "ChannelMoments": ChannelMoments,
    "SchemeCatalog": SchemeCatalog,
    "SchemeDescriptor": SchemeDescriptor,
    "Health": Health,
    "Readiness": Readiness,
    "DatasetList": DatasetList,
    "Dataset": Dataset,
    "DatasetSplit": DatasetSplit,
    "DatasetFile": DatasetFile,
    "PixelStatistics": PixelStatistics,
    "NormalizationStatistics": NormalizationStatistics,
    "DatasetFetch": DatasetFetch,
    "DatasetFetchProgress": DatasetFetchProgress,
}
