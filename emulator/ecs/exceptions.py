"""ECS wire errors: one class per Alibaba error code (alibaba-api.md §1.4, §2.2).

Statuses follow the ECS doc tables. UNCONFIRMED choices (no doc found, picked for the emulator):

* ``InvalidParameter.PageSize`` / ``InvalidParameter.PageNumber`` / ``InvalidParameter.MaxResults`` 400
  for paging values out of range (PageSize and MaxResults must be 1–100).
* ``InvalidClientToken.Malformed`` 400 for a ClientToken longer than 64 characters or not ASCII.
* ``IdempotentParameterMismatch`` 400 and ``DryRunOperation`` 400 (statuses UNCONFIRMED in §2.2).
* CancelCopyImage: ``ImageCreatedNotFromCopy`` 400 for an image no CopyImage created and
  ``IncorrectImageStatus`` 400 for a finished copy are documented (doc-detail/25539), not UNCONFIRMED.
* ``Forbidden`` 403 from DeleteImage on an image the account does not own.
* ``InvalidTagKey.Malformed``, ``InvalidTagValue.Malformed``, ``InvalidParameter.TagCount``,
  ``InvalidParameter.ResourceIdCount``, ``InvalidResourceType.NotSupported`` (400) and
  ``InvalidResourceId.NotFound`` (404) for the tag actions.
* ``InvalidInstanceIds.Malformed`` 400 for a DescribeInstances ``InstanceIds`` that is not a JSON list.
"""

from __future__ import annotations

from emulator.core.errors import EmulatorError
from emulator.core.errors import PagingParameterError as PagingParameterError  # ECS, ESS and CR page alike


class InvalidImageIdNotFoundError(EmulatorError):
    """The image does not exist in the region (404)."""

    code = "InvalidImageId.NotFound"
    status = 404
    message = "The specified ImageId does not exist."


class SourceRegionNotFoundError(EmulatorError):
    """CopyImage ``RegionId`` is not an enabled region."""

    code = "SourceRegion.NotFound"
    status = 400
    message = "The specified source region does not exist."


class DestinationRegionNotFoundError(EmulatorError):
    """CopyImage ``DestinationRegionId`` is not an enabled region."""

    code = "DestinationRegion.NotFound"
    status = 400
    message = "The specified destination region does not exist."


class IncorrectImageStatusError(EmulatorError):
    """The image is not in a status that allows the operation."""

    code = "IncorrectImageStatus"
    status = 400
    message = "The current status of the image does not support this operation."


class ImageCreatedNotFromCopyError(EmulatorError):
    """CancelCopyImage on an image that is not the target of a copy (400, API reference doc-detail/25539)."""

    code = "ImageCreatedNotFromCopy"
    status = 400
    message = "The specified image is not the target image of a copy action."


class InvalidImageNameMalformedError(EmulatorError):
    """The image name breaks the naming rules."""

    code = "InvalidImageName.Malformed"
    status = 400
    message = "The specified image name is wrongly formed."


class InvalidImageNameDuplicatedError(EmulatorError):
    """An image with that name already exists in the destination region."""

    code = "InvalidImageName.Duplicated"
    status = 400
    message = "The specified image name has already been used."


class InvalidDescriptionMalformedError(EmulatorError):
    """The description is not 2–256 characters or starts with http(s)://."""

    code = "InvalidDescription.Malformed"
    status = 400
    message = "The specified description is wrongly formed."


class SizeExceedImageError(EmulatorError):
    """The image is larger than 2048 GiB (use CopySnapshot + CreateImage)."""

    code = "SizeExceed.Image"
    status = 403
    message = "The size of the specified image exceeds the maximum allowed size."


class IncorrectDestinationRegionError(EmulatorError):
    """Source equals destination without ``Encrypted=true``."""

    code = "IncorrectDestinationRegion"
    status = 403
    message = "The destination region cannot be the same as the source region."


class EncryptedIllegalError(EmulatorError):
    """``KMSKeyId`` given without ``Encrypted=true``."""

    code = "InvalidParameter.EncryptedIllegal"
    status = 400
    message = "The KMSKeyId parameter is only valid when Encrypted is true."


class KmsKeyNotFoundError(EmulatorError):
    """The KMS key does not exist in the destination region."""

    code = "InvalidParameter.KMSKeyId.NotFound"
    status = 404
    message = "The specified KMSKeyId does not exist."


class QuotaExceedImageError(EmulatorError):
    """The destination region holds as many custom images as the quota allows."""

    code = "QuotaExceed.Image"
    status = 403
    message = "The number of custom images exceeds the quota."


class SameRegionOnlyError(EmulatorError):
    """An image owned by another account can only be copied within its region."""

    code = "OperationDenied.SameRegionOnly"
    status = 403
    message = "Shared images can only be copied within the same region."


class IdempotentParameterMismatchError(EmulatorError):
    """The ClientToken was used before with different parameters."""

    code = "IdempotentParameterMismatch"
    status = 400
    message = "The request uses the same client token as a previous, but non-identical request."


class InvalidClientTokenMalformedError(EmulatorError):
    """The ClientToken is longer than 64 characters or not ASCII (UNCONFIRMED code)."""

    code = "InvalidClientToken.Malformed"
    status = 400
    message = "The specified ClientToken is wrongly formed: at most 64 ASCII characters."


class ImageUsingByInstanceError(EmulatorError):
    """DeleteImage without Force while instances run the image."""

    code = "ImageUsingByInstance"
    status = 403
    message = "The specified image is being used by instances."


class ImageUseSharedError(EmulatorError):
    """DeleteImage on an image shared with other accounts."""

    code = "ImageUseShared"
    status = 403
    message = "The specified image is shared to other accounts; cancel the sharing first."


class ImageCopyingError(EmulatorError):
    """DeleteImage on a copy still in progress (use CancelCopyImage)."""

    code = "OperationDenied.ImageCopying"
    status = 403
    message = "The Image are coping."


class ForbiddenError(EmulatorError):
    """The account does not own the resource (UNCONFIRMED use in DeleteImage)."""

    code = "Forbidden"
    status = 403
    message = "User not authorized to operate on the specified resource."


class InvalidTagKeyMalformedError(EmulatorError):
    """Tag key empty, longer than 128 or starting with aliyun / acs:."""

    code = "InvalidTagKey.Malformed"
    status = 400
    message = "The specified Tag.n.Key is invalid: 1-128 characters, not starting with aliyun or acs:."


class InvalidTagValueMalformedError(EmulatorError):
    """Tag value longer than 128 or starting with aliyun / acs:."""

    code = "InvalidTagValue.Malformed"
    status = 400
    message = "The specified Tag.n.Value is invalid."


class TagCountError(EmulatorError):
    """More than 20 tags in a request or on one resource."""

    code = "InvalidParameter.TagCount"
    status = 400
    message = "The number of tags exceeds 20."


class TagValueWithoutKeyError(EmulatorError):
    """ListTagResources Tag.N.Value without Tag.N.Key (alibaba-api.md §1.10)."""

    code = "InvalidParameter.TagValue"
    status = 400
    message = "The Tag.n.Value parameter requires Tag.n.Key."


class ResourceIdCountError(EmulatorError):
    """Zero or more than 50 ResourceId.N."""

    code = "InvalidParameter.ResourceIdCount"
    status = 400
    message = "ResourceId.N must hold between 1 and 50 resource ids."


class ResourceTypeNotSupportedError(EmulatorError):
    """The emulator tags images only."""

    code = "InvalidResourceType.NotSupported"
    status = 400
    message = "The specified ResourceType is not supported."


class InvalidResourceIdNotFoundError(EmulatorError):
    """A ResourceId.N does not exist."""

    code = "InvalidResourceId.NotFound"
    status = 404
    message = "The specified resource does not exist."


class InvalidInstanceIdsMalformedError(EmulatorError):
    """InstanceIds is not a JSON array of strings."""

    code = "InvalidInstanceIds.Malformed"
    status = 400
    message = "The specified InstanceIds is not a JSON array of strings."


class InvalidNextTokenError(EmulatorError):
    """A NextToken the emulator did not hand out (UNCONFIRMED code)."""

    code = "InvalidNextToken.Malformed"
    status = 400
    message = "The specified NextToken is invalid."


class LaunchTemplateNotFoundError(EmulatorError):
    """No launch template with that id or name in the region (UNCONFIRMED code and status)."""

    code = "InvalidLaunchTemplate.NotFound"
    status = 403
    message = "The specified launch template does not exist."


# --- ExportImage and tasks (alibaba-api.md §1.5, §1.6) ---------------------------------------------------


class ImageNotSupportedError(EmulatorError):
    """The image cannot be exported (encrypted snapshots 400; Windows / Marketplace 403, UNCONFIRMED)."""

    code = "ImageNotSupported"
    status = 400
    message = "The specified image is not supported to export."


class InvalidImageDiskAmountOrSizeError(EmulatorError):
    """More than 4 data disks, or a data disk over 500 GiB (400)."""

    code = "InvalidImage.DiskAmountOrSize"
    status = 400
    message = "The data disk amount or size of the specified image exceeds the export limit."


class ImageIsExportingError(EmulatorError):
    """The image already has an export in progress (403)."""

    code = "ImageIsExporting"
    status = 403
    message = "The specified image is exporting."


class ConcurrentQuotaExceedExportImageError(EmulatorError):
    """The region already runs ``export_slots`` exports (403)."""

    code = "ConcurrentQuotaExceed.ExportImage"
    status = 403
    message = "The concurrent export image tasks exceed the quota."


class InvalidOssBucketNotFoundError(EmulatorError):
    """The bucket does not exist or is in another region than the image (400)."""

    code = "InvalidOSSBucket.NotFound"
    status = 400
    message = "The specified OSS bucket does not exist in the region of the image."


class InvalidOssPrefixMalformedError(EmulatorError):
    """``OSSPrefix`` is not 1–30 letters or digits (400, UNCONFIRMED code)."""

    code = "InvalidOSSPrefix.Malformed"
    status = 400
    message = "The specified OSSPrefix is wrongly formed: 1 to 30 letters or digits."


class InvalidImageFormatNotSupportedError(EmulatorError):
    """``ImageFormat`` is not raw/vhd/qcow2/vdi/vmdk (400, UNCONFIRMED code)."""

    code = "InvalidImageFormat.NotSupported"
    status = 400
    message = "The specified ImageFormat is not supported."


class InvalidTaskIdNotFoundError(EmulatorError):
    """The task does not exist in the region (400)."""

    code = "InvalidTaskId.NotFound"
    status = 400
    message = "The specified TaskId does not exist."


class IncorrectTaskStatusError(EmulatorError):
    """CancelTask on a task that is no longer Processing (403, UNCONFIRMED)."""

    code = "IncorrectTaskStatus"
    status = 403
    message = "The current status of the task does not support this operation."


# --- snapshots, CreateImage, sharing (alibaba-api.md §1.7–§1.9, §1.13) --------------------------------------


class InvalidSnapshotIdNotFoundError(EmulatorError):
    """The snapshot does not exist in the region (or belongs to another account) (404)."""

    code = "InvalidSnapshotId.NotFound"
    status = 404
    message = "The specified SnapshotId does not exist."


class IncorrectSnapshotStatusError(EmulatorError):
    """The snapshot is not ``accomplished`` (403, UNCONFIRMED code/status for CopySnapshot and CreateImage)."""

    code = "IncorrectSnapshotStatus"
    status = 403
    message = "The current status of the snapshot does not support this operation."


class SnapshotCreatedImageError(EmulatorError):
    """DeleteSnapshot on a snapshot an image still uses (403, UNCONFIRMED code)."""

    code = "SnapshotCreatedImage"
    status = 403
    message = "The specified snapshot has been used to create a custom image; delete the image first."


class InvalidSnapshotNameMalformedError(EmulatorError):
    """DestinationSnapshotName breaks the naming rules (400, UNCONFIRMED code)."""

    code = "InvalidSnapshotName.Malformed"
    status = 400
    message = "The specified snapshot name is wrongly formed."


class InvalidSnapshotIdsMalformedError(EmulatorError):
    """DescribeSnapshots ``SnapshotIds`` is not a JSON array of strings or holds more than 100 (400)."""

    code = "InvalidSnapshotIds.Malformed"
    status = 400
    message = "The specified SnapshotIds is not a JSON array of at most 100 strings."


class InvalidDiskDeviceMappingError(EmulatorError):
    """CreateImage disk mappings are inconsistent (400, UNCONFIRMED code)."""

    code = "InvalidParameter.DiskDeviceMapping"
    status = 400
    message = "The specified DiskDeviceMapping is invalid."


class ShareAccountQuotaError(EmulatorError):
    """More than 50 accounts would share the image (403, UNCONFIRMED code)."""

    code = "QuotaExceed.ShareImageUser"
    status = 403
    message = "An image can be shared with at most 50 accounts."


class EncryptedByServiceKeyError(EmulatorError):
    """Sharing an image encrypted with the service key (documented rule: notice of 2025-07-01; 403 and code
    UNCONFIRMED)."""

    code = "OperationDenied.EncryptedByServiceKey"
    status = 403
    message = "Images encrypted with the service key cannot be shared; use a customer master key."


class EncryptedImageShareRegionError(EmulatorError):
    """Sharing an encrypted image outside the regions that allow it (documented rule; 403 and code UNCONFIRMED)."""

    code = "OperationDenied.EncryptedImageShareRegion"
    status = 403
    message = ("Encrypted images can be shared only in China (Beijing), China (Shanghai), China (Hong Kong), "
               "Singapore and Indonesia (Jakarta).")


class InvalidAccountMalformedError(EmulatorError):
    """AddAccount.N / RemoveAccount.N is not a numeric Alibaba Cloud account id (400, UNCONFIRMED code)."""

    code = "InvalidAccount.Malformed"
    status = 400
    message = "The specified account is not a valid Alibaba Cloud account id."
