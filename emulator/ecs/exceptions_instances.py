"""Wire errors of releasing instances and networks: DeleteInstance, DeleteInstances, DeleteVSwitch, DeleteVpc.

Codes, statuses and messages come from the API references' error tables: ECS DeleteInstance / DeleteInstances
(2014-05-26; https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-deleteinstance)
and VPC DeleteVSwitch / DeleteVpc (2016-04-28), whose deprecated ECS twins (the ones the ECS SDK calls) publish
no table of their own (UNCONFIRMED: the same codes).
"""

from __future__ import annotations

from emulator.core.errors import EmulatorError


class InvalidInstanceIdNotFoundError(EmulatorError):
    """DeleteInstance(s) of an instance that does not exist (or was released already)."""

    code = "InvalidInstanceId.NotFound"
    status = 404
    message = "The specified InstanceId does not exist."


class IncorrectInstanceStatusError(EmulatorError):
    """A Running (or Starting/Stopping) instance released without ``Force``."""

    code = "IncorrectInstanceStatus"
    status = 403
    message = "The current status of the resource does not support this operation."


class InstanceInitializingError(EmulatorError):
    """An instance still Pending (being created) cannot be released yet, Force or not."""

    code = "IncorrectInstanceStatus.Initializing"
    status = 403
    message = "The specified instance status does not support this operation."


class InstanceIdSizeError(EmulatorError):
    """DeleteInstances with no InstanceId.N or more than 100 (UNCONFIRMED code; the table gives none)."""

    code = "InvalidParameter.InstanceId"
    status = 400
    message = "The number of InstanceId.N must be between 1 and 100."


class VSwitchNotFoundError(EmulatorError):
    """DeleteVSwitch of an unknown vSwitch (VPC DeleteVSwitch table)."""

    code = "InvalidVSwitchId.NotFound"
    status = 404
    message = "VSwitch not exist."


class VSwitchDependencyError(EmulatorError):
    """DeleteVSwitch while instances are still in the vSwitch."""

    code = "DependencyViolation"
    status = 400
    message = "Specified object has dependent resources."


class VpcNotFoundError(EmulatorError):
    """DeleteVpc of an unknown VPC (VPC DeleteVpc table)."""

    code = "InvalidVpcId.NotFound"
    status = 404
    message = "Specified VPC does not exist."


class VpcVSwitchDependencyError(EmulatorError):
    """DeleteVpc while the VPC still holds a vSwitch."""

    code = "DependencyViolation.VSwitch"
    status = 400
    message = "Specified object has dependent resources"


class VpcInstanceDependencyError(EmulatorError):
    """DeleteVpc while instances are still in the VPC."""

    code = "DependencyViolation.Instance"
    status = 400
    message = "Specified object has dependent resources"
