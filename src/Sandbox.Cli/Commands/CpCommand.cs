using Microsoft.Win32.SafeHandles;
using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Lifecycle;
using Sandbox.Protocol;

namespace Sandbox.Cli;

/// <summary>
/// <c>sandbox cp SRC DEST</c>: docker cp's semantics between the host and a sandbox (<c>ID:/path</c>), as a tar stream.
/// A file onto a missing path takes that name; a directory onto an existing directory goes inside it; <c>DIR/.</c>
/// copies its contents; <c>-</c> is a tar on stdin or stdout. Containers, running or stopped, through
/// <see cref="SandboxFiles"/> (every sandbox path resolved in its root); a running VM through its own tar (exec).
/// </summary>
public static class CpCommand
{
    public const string Usage = """
        Usage: sandbox cp SANDBOX:SRC_PATH DEST_PATH|-
               sandbox cp SRC_PATH|- SANDBOX:DEST_PATH

        Copies files and directories (modes, owners inside the sandbox, symlinks kept) between a sandbox and the host.
        """;

    private enum Kind { Missing, File, Directory }

    public static async Task<int> ExecuteAsync(GlobalOptions global, string[] args, CancellationToken ct)
    {
        var parsed = ParsedArgs.Parse(args, [new(false, "--archive", "-a"), new(false, "--help")], stopAtPositional: false);
        if (parsed.Has("--help")) { Console.Out.WriteLine(Usage); return 0; }
        if (parsed.Positionals.Count != 2) throw new UsageException("'sandbox cp' takes a source and a destination (see 'sandbox cp --help')");
        var (srcBox, src) = Split(parsed.Positionals[0]);
        var (dstBox, dst) = Split(parsed.Positionals[1]);
        if ((srcBox is null) == (dstBox is null))
            throw new UsageException("'sandbox cp' copies between a sandbox and the host: exactly one of SRC and DEST must be SANDBOX:PATH");
        var context = await LifecycleContext.OpenAsync(global, ct).ConfigureAwait(false);
        var record = context.Resolve((srcBox ?? dstBox)!);
        // A stopped sandbox's files must not change under a start: hold its command lock while copying.
        using var held = record.Status is SandboxStatus.Running or SandboxStatus.Paused ? null
            : await context.Store.LockAsync(record.Id, ct).ConfigureAwait(false);
        if (record.Isolation == Isolation.Vm && record.Status is SandboxStatus.Running or SandboxStatus.Paused)
            return await VmCopyAsync(context, record, srcBox is not null, src, dst, ct).ConfigureAwait(false);
        if (dstBox is not null && record.Isolation == Isolation.Vm)
            throw new SandboxException(SandboxFailure.NotRunning, $"cannot copy into stopped micro-VM {SandboxLifecycle.Display(record)}: its writes lived in guest memory; start it first");
        using var rootfs = await SandboxFiles.OpenAsync(context.Store, record, RunCommand.CreateImageProvider(global), ct).ConfigureAwait(false);
        using var host = Files.Open("/", OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec);
        if (srcBox is not null)
            await CopyAsync(rootfs.Root, src, host, dst, chown: false, ct).ConfigureAwait(false);
        else
            await CopyAsync(host, src == "-" ? "-" : Path.GetFullPath(src) + (src.EndsWith("/.", StringComparison.Ordinal) ? "/." : ""), rootfs.Root, dst, chown: true, ct).ConfigureAwait(false);
        return 0;
    }

    /// <summary>docker's rule: "NAME:PATH" names a sandbox unless the part before ':' holds a '/' (then it is a local path).</summary>
    private static (string? Box, string Path) Split(string arg)
    {
        int colon = arg.IndexOf(':');
        if (colon <= 0 || arg[..colon].Contains('/')) return (null, arg);
        return (arg[..colon], arg[(colon + 1)..] is { Length: > 0 } p ? p : "/");
    }

    private static Kind KindOf(Statx.Info? info) => info is not Statx.Info i ? Kind.Missing : i.IsDirectory ? Kind.Directory : Kind.File;

    private static Kind HostKind(string path) =>
        Directory.Exists(path) ? Kind.Directory : File.Exists(path) || new FileInfo(path).LinkTarget is not null ? Kind.File : Kind.Missing;

    /// <summary>Copies SRC under <paramref name="fromRoot"/> to DEST under <paramref name="toRoot"/> (either may be "-").</summary>
    private static async Task CopyAsync(SafeFd fromRoot, string src, SafeFd toRoot, string dst, bool chown, CancellationToken ct)
    {
        if (src == "-")
        {
            if (KindOf(SandboxFiles.Stat(toRoot, dst)) != Kind.Directory)
                throw new SandboxException(SandboxFailure.InvalidSpec, $"destination {dst} must be an existing directory for a tar from stdin");
            using var stdin = Console.OpenStandardInput();
            SandboxFiles.ExtractTar(toRoot, dst, stdin, chown: chown);
            return;
        }
        var srcKind = KindOf(SandboxFiles.Stat(fromRoot, src));
        if (srcKind == Kind.Missing) throw new SandboxException(SandboxFailure.InvalidSpec, $"no such file or directory: {src}");
        bool contentsOnly = src.EndsWith("/.", StringComparison.Ordinal) || src == ".";
        var srcName = Path.GetFileName(src.TrimEnd('/'));
        if (dst == "-")
        {
            using var stdout = Console.OpenStandardOutput();
            SandboxFiles.WriteTar(fromRoot, src, contentsOnly ? "" : srcName, stdout);
            return;
        }
        var (destDir, topName) = Plan(srcKind, contentsOnly, srcName, dst, KindOf(SandboxFiles.Stat(toRoot, dst)),
            p => KindOf(SandboxFiles.Stat(toRoot, p)));
        if (contentsOnly && topName.Length > 0)
        {
            // DIR/. onto a missing path: make it, then the contents go inside.
            using (var parentDir = OpenAt2.Open(toRoot, Rel(destDir), OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec, OpenAt2.Resolve.InRoot))
                FileAt.Check(FileAt.TryMkdirAt(parentDir, topName, 0x1ed), "mkdir", dst);
            destDir = destDir.TrimEnd('/') + "/" + topName;
            topName = "";
        }
        await PipeAsync(w => SandboxFiles.WriteTar(fromRoot, src, topName, w), r => SandboxFiles.ExtractTar(toRoot, destDir, r, chown: chown), ct)
            .ConfigureAwait(false);
    }

    private static string Rel(string p) => p.TrimStart('/') is { Length: > 0 } r ? r : ".";

    /// <summary>docker cp's destination rules: the directory to extract into and the top entry's name there.</summary>
    private static (string DestDir, string TopName) Plan(Kind srcKind, bool contentsOnly, string srcName, string dst, Kind dstKind, Func<string, Kind> kindOf)
    {
        if (dstKind == Kind.Directory) return (dst, contentsOnly ? "" : srcName);
        if (dstKind == Kind.File)
        {
            if (srcKind == Kind.Directory) throw new SandboxException(SandboxFailure.InvalidSpec, $"cannot copy a directory onto file {dst}");
            return (Path.GetDirectoryName(dst.TrimEnd('/')) ?? "/", Path.GetFileName(dst));
        }
        if (dst.EndsWith('/') && srcKind == Kind.File)
            throw new SandboxException(SandboxFailure.InvalidSpec, $"destination directory {dst} does not exist");
        var parent = Path.GetDirectoryName(dst.TrimEnd('/')) is { Length: > 0 } p ? p : (dst.StartsWith('/') ? "/" : ".");
        if (kindOf(parent) != Kind.Directory) throw new SandboxException(SandboxFailure.InvalidSpec, $"destination directory {parent} does not exist");
        return (parent, Path.GetFileName(dst.TrimEnd('/')));
    }

    /// <summary>Runs a tar producer and consumer over a pipe.</summary>
    private static async Task PipeAsync(Action<Stream> produce, Action<Stream> consume, CancellationToken ct)
    {
        var (readEnd, writeEnd) = Files.Pipe();
        var producer = Task.Run(() =>
        {
            using var w = new FileStream(new SafeFileHandle(writeEnd.DangerousGetHandle(), ownsHandle: true), FileAccess.Write, 64 * 1024);
            writeEnd.SetHandleAsInvalid();
            produce(w);
        }, ct);
        Exception? failure = null;
        try
        {
            using var r = new FileStream(new SafeFileHandle(readEnd.DangerousGetHandle(), ownsHandle: true), FileAccess.Read, 64 * 1024);
            readEnd.SetHandleAsInvalid();
            consume(r);
        }
        catch (Exception e) { failure = e; }
        try { await producer.ConfigureAwait(false); }
        catch (IOException) when (failure is not null) { /* the consumer stopped reading first: its error is the one */ }
        if (failure is not null) throw failure is ErrnoException er ? new SandboxException(SandboxFailure.Host, er.Message, er) : failure;
    }

    // ---- running micro-VMs: the guest's own tar, through exec ------------------------------------------------------

    private static async Task<int> VmCopyAsync(LifecycleContext context, SandboxRecord record, bool fromSandbox, string src, string dst, CancellationToken ct)
    {
        using var host = Files.Open("/", OpenFlags.Path | OpenFlags.Directory | OpenFlags.CloseOnExec);
        async Task<Kind> GuestKind(string p)
        {
            var output = new MemoryStream();
            await ExecAsync(context, record, ["sh", "-c", "if [ -d \"$1\" ]; then echo d; elif [ -e \"$1\" ]; then echo f; else echo n; fi", "sh", p], null, output, ct).ConfigureAwait(false);
            return System.Text.Encoding.UTF8.GetString(output.ToArray()).Trim() switch { "d" => Kind.Directory, "f" => Kind.File, _ => Kind.Missing };
        }
        if (fromSandbox)
        {
            var srcKind = await GuestKind(src).ConfigureAwait(false);
            if (srcKind == Kind.Missing) throw new SandboxException(SandboxFailure.InvalidSpec, $"no such file or directory: {src}");
            bool contentsOnly = src.EndsWith("/.", StringComparison.Ordinal);
            var trimmed = src.TrimEnd('/');
            var parent = Path.GetDirectoryName(trimmed) is { Length: > 0 } p ? p : "/";
            var name = contentsOnly ? "." : Path.GetFileName(trimmed);
            if (contentsOnly) parent = trimmed[..^1];
            string[] tar = ["tar", "-c", "-f", "-", "-C", parent, name];
            if (dst == "-")
            {
                using var stdout = Console.OpenStandardOutput();
                return await ExecAsync(context, record, tar, null, stdout, ct).ConfigureAwait(false);
            }
            var dstFull = Path.GetFullPath(dst);
            var (destDir, topName) = Plan(srcKind, contentsOnly, Path.GetFileName(trimmed), dstFull, HostKind(dstFull), HostKind);
            if (contentsOnly && topName.Length > 0) { Directory.CreateDirectory(Path.Combine(destDir, topName)); destDir = Path.Combine(destDir, topName); topName = ""; }
            string Rename(string n) => contentsOnly ? n : topName + n[name.Length..];
            int code = 0;
            await PipeAsync(w => code = ExecAsync(context, record, tar, null, w, ct).GetAwaiter().GetResult(),
                r => SandboxFiles.ExtractTar(host, destDir, r, Rename, chown: false), ct).ConfigureAwait(false);
            return code == 0 ? 0 : throw new SandboxException(SandboxFailure.Host, $"tar in the guest exited {code}");
        }
        else
        {
            bool contentsOnly = src.EndsWith("/.", StringComparison.Ordinal);
            var full = src == "-" ? "-" : Path.GetFullPath(src);
            string destDir, topName = "";
            if (full == "-") destDir = dst;
            else
            {
                var srcKind = HostKind(full);
                if (srcKind == Kind.Missing) throw new SandboxException(SandboxFailure.InvalidSpec, $"no such file or directory: {src}");
                var dstKind = await GuestKind(dst).ConfigureAwait(false);
                var parentKind = await GuestKind(Path.GetDirectoryName(dst.TrimEnd('/')) ?? "/").ConfigureAwait(false);
                (destDir, topName) = Plan(srcKind, contentsOnly, Path.GetFileName(full.TrimEnd('/', '.')), dst, dstKind, _ => parentKind);
                if (contentsOnly && topName.Length > 0)
                {
                    await ExecAsync(context, record, ["mkdir", "-p", destDir.TrimEnd('/') + "/" + topName], null, Stream.Null, ct).ConfigureAwait(false);
                    destDir = destDir.TrimEnd('/') + "/" + topName;
                    topName = "";
                }
            }
            string[] untar = ["tar", "-x", "-f", "-", "-C", destDir];
            int code = 0;
            if (full == "-")
            {
                using var stdin = Console.OpenStandardInput();
                code = await ExecAsync(context, record, untar, stdin, Stream.Null, ct).ConfigureAwait(false);
            }
            else
            {
                await PipeAsync(w => SandboxFiles.WriteTar(host, full, topName, w),
                    r => code = ExecAsync(context, record, untar, r, Stream.Null, ct).GetAwaiter().GetResult(), ct).ConfigureAwait(false);
            }
            return code == 0 ? 0 : throw new SandboxException(SandboxFailure.Host, $"tar in the guest exited {code}");
        }
    }

    /// <summary>Runs a command in the sandbox with the given streams; returns its exit code (stderr goes to ours).</summary>
    private static async Task<int> ExecAsync(LifecycleContext context, SandboxRecord record, string[] args, Stream? stdin, Stream stdout, CancellationToken ct)
    {
        await using var client = await ControlClient.ConnectAsync(context.Store, record, ct).ConfigureAwait(false);
        await client.RequestAsync(new ControlRequest { Op = "exec", Exec = new ExecSpec { Args = args, Interactive = stdin is not null } }, ct).ConfigureAwait(false);
        var pump = stdin is null ? Task.CompletedTask : Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await stdin.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                await client.Writer.WriteAsync(MessageType.Stdin, buffer.AsMemory(0, n), ct).ConfigureAwait(false);
            await client.Writer.WriteAsync(MessageType.StdinClose, ReadOnlyMemory<byte>.Empty, ct).ConfigureAwait(false);
        }, ct);
        using var stderr = Console.OpenStandardError();
        while (await client.Reader.ReadAsync(ct).ConfigureAwait(false) is Frame f)
        {
            switch (f.Type)
            {
                case MessageType.Stdout: await stdout.WriteAsync(f.Payload, ct).ConfigureAwait(false); break;
                case MessageType.Stderr: await stderr.WriteAsync(f.Payload, ct).ConfigureAwait(false); break;
                case MessageType.Exited:
                    try { await pump.ConfigureAwait(false); } catch (IOException) { }
                    await stdout.FlushAsync(ct).ConfigureAwait(false);
                    var m = ExitMessage.Decode(f.Payload);
                    return m.Signal != 0 ? 128 + m.Signal : m.Code;
            }
        }
        throw new SandboxException(SandboxFailure.NotRunning, "the sandbox's owner hung up during the copy");
    }
}
