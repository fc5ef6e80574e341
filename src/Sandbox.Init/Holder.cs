using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// What a container's init holds once it is the holder of a detached sandbox (<see cref="MessageType.Detach"/>;
/// docs/process-model.md, "Who holds a running sandbox"): the log, the exit record, the owner lock, the control
/// listener and the image lease — each an fd the host opened and passed over the fd socket, all close-on-exec.
/// Nothing here is a directory: the workload can reach no host path through init's fds (and init is non-dumpable, so
/// /proc/1/fd is closed to it anyway).
/// </summary>
internal sealed class Holder : IDisposable
{
    private readonly FileStream _log;
    private readonly SafeFd _exit;
    private readonly List<SafeFd> _held;
    private readonly MemoryStream _records = new();
    private long _lost;

    private Holder(SafeFd log, SafeFd exit, SafeFd listener, List<SafeFd> held)
    {
        _log = new FileStream(new SafeFileHandle(log.Fd, ownsHandle: false), FileAccess.Write, 1);
        _exit = exit;
        Listener = listener;
        _held = held;
        _held.Add(log);
    }

    /// <summary>The bound, listening <c>ctl.sock</c> (non-blocking: accepted in the supervisor's poll loop).</summary>
    public SafeFd Listener { get; }

    /// <summary>Receives the holder's fds, as the host sent them before Detach, up to the <see cref="HolderFd.End"/> tag.</summary>
    public static Holder Receive(SafeFd fdSocket)
    {
        SafeFd? log = null, exit = null, listener = null;
        var held = new List<SafeFd>();
        while (true)
        {
            var (tag, fd) = Sockets.ReceiveFd(fdSocket) ?? throw new IOException("the host hung up while handing the sandbox over");
            switch (tag)
            {
                case HolderFd.Log: log = fd; break;
                case HolderFd.Exit: exit = fd; break;
                case HolderFd.Listener: listener = fd; break;
                // The owner lock and the image lease: held, never used, until init exits (the kernel lets go then).
                case HolderFd.Lock or HolderFd.ImageLease: held.Add(fd); break;
                case HolderFd.End: fd.Dispose(); goto done;
                default: fd.Dispose(); throw new IOException($"unexpected holder fd tag '{(char)tag}'");
            }
        }
    done:
        if (log is null || exit is null || listener is null)
            throw new IOException("the host handed the sandbox over without its log, exit record or control socket");
        Files.SetNonBlocking(listener);
        return new Holder(log, exit, listener, held);
    }

    /// <summary>
    /// Appends docker json-file records (one per line of output; a chunk's partial last line is its own record), the
    /// same format as the .NET owner's <c>SandboxLogWriter</c>. A full file system drops whole records and says how
    /// many once there is room again.
    /// </summary>
    public void WriteLog(string stream, ReadOnlySpan<byte> data)
    {
        var now = DateTimeOffset.UtcNow;
        int records = 0;
        _records.SetLength(0);
        using (var json = new Utf8JsonWriter(_records))
        {
            int start = 0;
            while (start < data.Length)
            {
                int nl = data[start..].IndexOf((byte)'\n');
                int end = nl < 0 ? data.Length : start + nl + 1;
                WriteRecord(json, _records, data[start..end], stream, now);
                start = end;
                records++;
            }
        }
        if (_lost > 0)
        {
            var notice = new MemoryStream();
            using (var json = new Utf8JsonWriter(notice))
                WriteRecord(json, notice, Encoding.UTF8.GetBytes($"sandbox: {_lost} log record(s) lost: the file system of the log was full\n"), "stderr", now);
            if (!TryAppend(notice)) { _lost += records; return; }
            _lost = 0;
        }
        if (records > 0 && !TryAppend(_records)) _lost += records;
    }

    /// <summary>One json-file record and its newline.</summary>
    private static void WriteRecord(Utf8JsonWriter json, MemoryStream output, ReadOnlySpan<byte> line, string stream, DateTimeOffset now)
    {
        json.WriteStartObject();
        // Invalid UTF-8 becomes U+FFFD, as the owner's string decoding did.
        json.WriteString("log", Encoding.UTF8.GetString(line));
        json.WriteString("stream", stream);
        json.WriteString("time", now);
        json.WriteEndObject();
        json.Flush();
        output.WriteByte((byte)'\n');
        json.Reset();
    }

    /// <summary>Appends whole records; false when the file system is full (a partial record is cut off again).</summary>
    private bool TryAppend(MemoryStream records)
    {
        long size = _log.Length;
        try
        {
            _log.Write(records.GetBuffer(), 0, (int)records.Length);
            _log.Flush();
            return true;
        }
        catch (IOException e) when (e.HResult is 28 or 122)
        {
            try { _log.SetLength(size); } catch (IOException) { }
            return false;
        }
    }

    /// <summary>Records the workload's end in <c>exit.json</c> (before init exits and the owner lock drops).</summary>
    /// <remarks>
    /// The host wrote the file full of spaces first and gave us an fd at offset 0: this write only overwrites blocks
    /// that exist, so a workload that filled the file system does not cost the record (JSON allows the trailing
    /// spaces). Records still lost in the log go into it, for the reaper to say in the log once it has room.
    /// </remarks>
    public void WriteExit(ExitMessage exit)
    {
        if (_lost > 0) WriteLog("stderr", []);
        var record = new ExitRecord { Code = exit.Code, Signal = exit.Signal, Finished = DateTimeOffset.UtcNow, LogLost = _lost };
        try { Files.WriteAll(_exit, JsonSerializer.SerializeToUtf8Bytes(record, ControlJsonContext.Default.ExitRecord)); }
        catch (ErrnoException) { /* readers fall back to "its owner process died" */ }
    }

    public void Dispose()
    {
        _log.Dispose();
        _exit.Dispose();
        Listener.Dispose();
        foreach (var fd in _held) fd.Dispose();
    }
}
