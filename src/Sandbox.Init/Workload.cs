// TEMPORARY stand-in for the container engineer's shared Workload (branch container); removed when that is merged.
using System.Diagnostics;
using System.Runtime.InteropServices;
using Sandbox.Protocol;

namespace Sandbox.Init;

internal enum RootSwitch { PivotRoot, MoveAndChroot }
internal enum StdioMode { Inherited, Channel }

internal sealed class InitChannel(Stream stream, FrameReader reader, FrameWriter writer)
{
    public Stream Stream { get; } = stream;
    public FrameReader Reader { get; } = reader;
    public FrameWriter Writer { get; } = writer;
}

internal static partial class Workload
{
    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mount(string source, string target, string? fsType, ulong flags, string? data);
    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chroot(string path);

    public static int Run(InitSpec spec, InitChannel channel, string newRoot, RootSwitch how, StdioMode stdio)
    {
        Directory.SetCurrentDirectory(newRoot);
        if (mount(newRoot, "/", null, 8192 /* MS_MOVE */, null) != 0) throw new IOException("move " + Marshal.GetLastPInvokeError());
        if (chroot(".") != 0) throw new IOException("chroot " + Marshal.GetLastPInvokeError());
        Directory.SetCurrentDirectory("/");
        Directory.CreateDirectory("/proc"); mount("proc", "/proc", "proc", 0, null);
        Directory.CreateDirectory("/dev"); mount("devtmpfs", "/dev", "devtmpfs", 0, null);
        Directory.CreateDirectory("/sys"); mount("sysfs", "/sys", "sysfs", 0, null);
        var psi = new ProcessStartInfo(spec.Argv[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = spec.WorkingDir, UseShellExecute = false };
        foreach (var a in spec.Argv.Skip(1)) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        foreach (var e in spec.Env) { int i = e.IndexOf('='); psi.Environment[e[..i]] = e[(i + 1)..]; }
        var w = channel.Writer;
        w.Write(MessageType.Mark, new MarkMessage(MarkKind.WorkloadStarted, GuestBoot.MonotonicNs()).Encode());
        using var p = Process.Start(psi)!;
        var o = Task.Run(() => Pump(p.StandardOutput.BaseStream, w, MessageType.Stdout));
        var er = Task.Run(() => Pump(p.StandardError.BaseStream, w, MessageType.Stderr));
        _ = Task.Run(() =>
        {
            try
            {
                while (channel.Reader.Read() is Frame f)
                {
                    if (f.Type == MessageType.Stdin) { p.StandardInput.BaseStream.Write(f.Payload); p.StandardInput.BaseStream.Flush(); }
                    else if (f.Type == MessageType.StdinClose) p.StandardInput.Close();
                }
            }
            catch { }
        });
        p.WaitForExit();
        Task.WaitAll(o, er);
        w.Write(MessageType.Mark, new MarkMessage(MarkKind.WorkloadExited, GuestBoot.MonotonicNs()).Encode());
        int code = p.ExitCode;
        var msg = code > 128 ? new ExitMessage(0, code - 128, false) : new ExitMessage(code, 0, false);
        w.Write(MessageType.Exited, msg.Encode());
        return code;
    }

    private static void Pump(Stream s, FrameWriter w, MessageType t)
    {
        var buf = new byte[16384];
        int n;
        while ((n = s.Read(buf)) > 0) w.Write(t, buf.AsSpan(0, n));
    }
}
