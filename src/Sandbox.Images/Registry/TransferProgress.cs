namespace Sandbox.Images.Registry;

/// <summary>Where one blob of a pull or push stands.</summary>
public enum TransferState
{
    Waiting,
    Transferring,
    /// <summary>Not transferred: the store (pull) or the registry (push) already has it.</summary>
    Exists,
    /// <summary>Pushed by a cross-repository mount, without upload.</summary>
    Mounted,
    Done,
}

/// <summary>
/// Progress of one blob: bytes so far of its total, and time since it started (rate = bytes / elapsed). Reported from
/// several threads at once when blobs transfer in parallel.
/// </summary>
public sealed record TransferProgress(string Digest, string Kind, long Total, long Transferred, TransferState State, TimeSpan Elapsed);
