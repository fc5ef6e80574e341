using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Win32.SafeHandles;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.Images;

/// <summary>
/// Reads files of an import source (an OCI layout, an extracted archive) with every path resolved inside the
/// source's directory, so a symlink in it cannot make an import read a host file.
/// </summary>
internal sealed class ContainedDirectory : IDisposable
{
    private const OpenAt2.Resolve InRoot = OpenAt2.Resolve.InRoot | OpenAt2.Resolve.NoMagicLinks;
    private const int MaxJsonBytes = 8 << 20;
    private readonly SafeFd _root;

    public ContainedDirectory(string path, string what)
    {
        Path = path;
        What = what;
        int errno = OpenAt2.TryOpen(HostFs.Cwd, path, OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec, OpenAt2.Resolve.None, out _root);
        if (errno != 0)
            throw new SandboxException(SandboxFailure.Image, $"cannot open {what}: {ErrnoException.Describe(errno)}");
    }

    public string Path { get; }
    public string What { get; }

    public bool FileExists(string relative) =>
        OpenAt2.TryOpen(_root, relative, OpenFlags.Path | OpenFlags.CloseOnExec, InRoot, out var fd) == 0 && Dispose(fd);

    private static bool Dispose(SafeFd fd)
    {
        fd.Dispose();
        return true;
    }

    /// <summary>Opens a regular file for reading, or a clear error naming what is missing.</summary>
    public FileStream OpenRead(string relative, string description)
    {
        int errno = OpenAt2.TryOpen(_root, relative, OpenFlags.ReadOnly | OpenFlags.CloseOnExec, InRoot, out var fd);
        if (errno == ErrnoValues.ENOENT)
            throw new SandboxException(SandboxFailure.Image, $"{What}: {description} is missing ({relative})");
        if (errno != 0)
            throw new SandboxException(SandboxFailure.Image, $"{What}: cannot read {description} ({relative}): {ErrnoException.Describe(errno)}");
        if (Statx.TryGet(fd, "", FileAt.AtEmptyPath, out var info) != 0 || !info.IsRegular)
        {
            fd.Dispose();
            throw new SandboxException(SandboxFailure.Image, $"{What}: {description} ({relative}) is not a regular file");
        }
        var handle = new SafeFileHandle(fd.DangerousGetHandle(), ownsHandle: true);
        fd.SetHandleAsInvalid();
        return new FileStream(handle, FileAccess.Read, 1);
    }

    public byte[] ReadAllBytes(string relative, string description)
    {
        using var s = OpenRead(relative, description);
        if (s.Length > MaxJsonBytes)
            throw new SandboxException(SandboxFailure.Image, $"{What}: {description} ({relative}) is implausibly large ({s.Length} bytes)");
        var bytes = new byte[s.Length];
        s.ReadExactly(bytes);
        return bytes;
    }

    public T ReadJson<T>(string relative, string description, JsonTypeInfo<T> type) =>
        ParseJson(ReadAllBytes(relative, description), $"{What}: {description} ({relative})", type);

    public static T ParseJson<T>(byte[] bytes, string what, JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(bytes, type) ?? throw new SandboxException(SandboxFailure.Image, $"{what} is empty (null)");
        }
        catch (JsonException e)
        {
            // System.Text.Json quotes the offending character, a newline included: keep the error one line.
            throw new SandboxException(SandboxFailure.Image, $"{what} is malformed JSON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    public void Dispose() => _root.Dispose();
}
