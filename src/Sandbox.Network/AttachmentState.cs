using System.Text.Json;

namespace Sandbox.Network;

/// <summary>
/// <c>netns/&lt;id&gt;/</c>: a lock the owning process holds (flock) while the sandbox is attached, the pinned
/// network namespace, and the <see cref="AttachmentRecord"/>. A directory whose lock nobody holds belongs to a dead
/// process: <see cref="AttachmentReaper"/> runs DEL from the record and removes it.
/// </summary>
internal sealed class AttachmentState : IDisposable
{
    public const string LockName = "lock", RecordName = "attachment.json", NetnsName = "netns";

    private readonly FileLockHandle _lock;

    private AttachmentState(string dir, FileLockHandle lockHandle)
    {
        Dir = dir;
        _lock = lockHandle;
    }

    public string Dir { get; }
    public string NetnsPath => Path.Combine(Dir, NetnsName);

    public static AttachmentState Create(string parent, string id)
    {
        var dir = Path.Combine(parent, id);
        try
        {
            Directory.CreateDirectory(dir);
            return new AttachmentState(dir, FileLockHandle.Acquire(Path.Combine(dir, LockName)));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Interop.Libc.ErrnoException)
        {
            throw new NetworkException(NetworkFailure.Host, $"cannot create {dir}: {e.Message}", e);
        }
    }

    public void Write(AttachmentRecord record)
    {
        var path = Path.Combine(Dir, RecordName);
        File.WriteAllBytes(path + ".tmp", JsonSerializer.SerializeToUtf8Bytes(record, NetworkJsonContext.Default.AttachmentRecord));
        File.Move(path + ".tmp", path, overwrite: true);
    }

    public static AttachmentRecord? ReadRecord(string dir)
    {
        try { return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(dir, RecordName)), NetworkJsonContext.Default.AttachmentRecord); }
        catch (Exception e) when (e is IOException or JsonException) { return null; }
    }

    /// <summary>Removes the directory (the namespace must be unpinned first) and drops the lock.</summary>
    public void Delete()
    {
        try { Directory.Delete(Dir, recursive: true); }
        catch (DirectoryNotFoundException) { }
        Dispose();
    }

    public void Dispose() => _lock.Dispose();

    /// <summary>Takes over a directory whose owner died; null while its owner is alive.</summary>
    public static AttachmentState? TryAdopt(string dir)
    {
        var handle = FileLockHandle.TryAcquire(Path.Combine(dir, LockName));
        return handle is null ? null : new AttachmentState(dir, handle);
    }
}
