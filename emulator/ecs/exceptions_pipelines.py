"""Image Builder wire errors: one class per Alibaba error code.

Codes, statuses and messages come from the ECS API reference (2014-05-26) error tables of
CreateImagePipeline, StartImagePipelineExecution, DescribeImagePipelines, DescribeImagePipelineExecutions,
CancelImagePipelineExecution and DeleteImagePipeline
(https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-<action>). Where the
table gives only ``%s`` as the message, the text here is ours (UNCONFIRMED wording).
"""

from __future__ import annotations

from emulator.core.errors import EmulatorError


class PipelineRegionNotFoundError(EmulatorError):
    """RegionId / ToRegionId names no enabled region (the Image Builder tables give 404)."""

    code = "InvalidRegionId.NotFound"
    status = 404
    message = "The specified region ID does not exist."


class InvalidNameMalformedError(EmulatorError):
    """The template name breaks the naming rules."""

    code = "InvalidName.Malformed"
    status = 400
    message = "The specified Name is wrongly formed."


class InvalidBaseImageTypeError(EmulatorError):
    """BaseImageType is not IMAGE or IMAGE_FAMILY (OSS imports are not emulated)."""

    code = "InvalidBaseImageType.NotSupportedValue"
    status = 400
    message = "The specified BaseImageType is not supported."


class InvalidSystemDiskSizeError(EmulatorError):
    """SystemDiskSize outside 20–500 GiB."""

    code = "InvalidSystemDiskSize.NotSupportedValue"
    status = 400
    message = "The specified SystemDiskSize must be between 20 and 500."


class InvalidBandwidthError(EmulatorError):
    """InternetMaxBandwidthOut outside 0–100 Mbit/s."""

    code = "InvalidInternetMaxBandwidthOut.NotSupportedValue"
    status = 400
    message = "The specified InternetMaxBandwidthOut must be between 0 and 100."


class AddAccountSizeError(EmulatorError):
    """More than 20 AddAccount.N."""

    code = "InvalidAddAccountSize.ExceededMaxNumber"
    status = 400
    message = "The number of AddAccount.N exceeds 20."


class ToRegionIdSizeError(EmulatorError):
    """More than 20 ToRegionId.N."""

    code = "InvalidToRegionIdSize.ExceededMaxNumber"
    status = 400
    message = "The number of ToRegionId.N exceeds 20."


class BuildContentLengthError(EmulatorError):
    """BuildContent (or TestContent) above 16 KB."""

    code = "InvalidBuildContent.LengthExceeded"
    status = 400
    message = "The specified BuildContent exceeds 16 KB."


class InvalidRepairModeError(EmulatorError):
    """RepairMode is not ``Standard``."""

    code = "InvalidParameter.RepairMode"
    status = 400
    message = "The specified parameter RepairMode is invalid."


class InvalidImageNotFoundError(EmulatorError):
    """BaseImage (BaseImageType IMAGE) does not exist in the region."""

    code = "InvalidImage.NotFound"
    status = 404
    message = "The specified image does not exist."


class InvalidVSwitchIdNotFoundError(EmulatorError):
    """VSwitchId names no vSwitch of the region."""

    code = "InvalidVSwitchId.NotFound"
    status = 404
    message = "The specified VSwitchId does not exist."


class ImagePipelineNotFoundError(EmulatorError):
    """The image template does not exist in the region."""

    code = "InvalidImagePipeline.NotFound"
    status = 404
    message = "The specified image pipeline does not exist."


class HasRunningExecutionError(EmulatorError):
    """The template already runs a build task (start) or cannot be deleted while one runs."""

    code = "InvalidImagePipeline.HasRunningExecution"
    status = 403
    message = "The specified image pipeline has a running execution."


class ExecutionNotFoundError(EmulatorError):
    """CancelImagePipelineExecution of an unknown build task."""

    code = "InvalidImagePipelineExecution.NotFound"
    status = 404
    message = "The specified image pipeline execution does not exist!"


class CancelFailedError(EmulatorError):
    """Cancel of a task already SUCCESS, FAILED or CANCELLED (any final status here)."""

    code = "InvalidStatus.CancelFailed"
    status = 400
    message = "Failed to cancel execution,status is success, failed or cancelled."


class ExecutionStatusError(EmulatorError):
    """Cancel of a task past BUILDING (TESTING, DISTRIBUTING, RELEASING) or already CANCELLING."""

    code = "InvalidStatus.ImagePipelineExecution"
    status = 403
    message = "The image pipeline execution can only be cancelled while PREPARING, REPAIRING or BUILDING."


class InvalidStatusParameterError(EmulatorError):
    """DescribeImagePipelineExecutions ``Status`` holds an unknown value."""

    code = "InvalidParameter.Status"
    status = 400
    message = "The specified Status is not valid."


class MissingPipelineIdError(EmulatorError):
    """DescribeImagePipelineExecutions without ImagePipelineId and without ExecutionId."""

    code = "MissingParameter.ImagePipelineId"
    status = 400
    message = "The specified parameter ImagePipelineId should not be empty."


class ExecutionIdSizeError(EmulatorError):
    """More ExecutionId values than the emulator accepts in one call."""

    code = "InvalidExecutionId.SizeExceeded"
    status = 400
    message = "ExecutionId list exceeds maximum size of 100."


class PipelineIdSizeError(EmulatorError):
    """DescribeImagePipelines with more than 20 ImagePipelineId.N."""

    code = "InvalidImagePipelineIdSize.ExceededMaxNumber"
    status = 400
    message = "The number of ImagePipelineId.N exceeds 20."


class InvalidNextTokenPipelineError(EmulatorError):
    """A NextToken this emulator did not hand out (Image Builder answers 403)."""

    code = "Invalid.NextToken"
    status = 403
    message = "The specified NextToken is not valid."
