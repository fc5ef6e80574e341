using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Sandbox.Core;
using Sandbox.Interop.Libc;

namespace Sandbox.MicroVm.Pool;

/// <summary>One member as <c>pool ls</c> shows it.</summary>
public sealed record PoolMemberView(string Id, string Image, string ImageDigest, long MemoryMiB, int Cpus, string State,
    double AgeSeconds, long PssBytes, string Domain, int HolderPid, bool Current);

/// <summary>
/// The warm pool as the rest of the host sees it (docs/microvm.md, "Warm pool"): members are <c>run/&lt;id&gt;</c>
/// directories owned (flock) by their holder process, described by <c>pool.json</c>, reached on <c>pool.sock</c>.
/// A member serves one claim, ever: its holder hands the domain and the channel to the claimer and exits.
/// </summary>
public static class WarmPool
{
    /// <summary>
    /// The pool's memory budget in MiB of guest RAM: <c>SANDBOX_POOL_MAX_MIB</c>, else a quarter of the host's RAM.
    /// Guest RAM is what a member may cost at most; an idle member costs far less (docs/microvm.md).
    /// </summary>
    public static long BudgetMiB()
    {
        if (Environment.GetEnvironmentVariable("SANDBOX_POOL_MAX_MIB") is { Length: > 0 } s && long.TryParse(s, out long v) && v >= 0) return v;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024 / 4;
        }
        catch (Exception e) when (e is IOException or FormatException) { }
        return 4096;
    }

    /// <summary>The file whose flock serializes the budget check and the boot of the members it admits.</summary>
    public const string BudgetLockName = "pool.lock";

    /// <summary>
    /// Takes the pool's budget lock (<c>&lt;root&gt;/pool.lock</c>): held by <c>pool fill</c> and by a refill from the
    /// budget check until the members it admitted are ready (listed), so two fills never both see the same room.
    /// </summary>
    public static async Task<IDisposable> LockBudgetAsync(SandboxPaths paths, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(paths.Root);
        var fd = Files.Open(Path.Combine(paths.Root, BudgetLockName), Files.O_RDWR | Files.O_CREAT | Files.O_CLOEXEC, 0x180);
        try
        {
            while (!Files.Flock(fd, Files.LOCK_EX | Files.LOCK_NB))
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            return fd;
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>The guest RAM (MiB) the live members hold: what the budget counts.</summary>
    public static long UsedMiB(SandboxPaths paths) => Members(paths).Sum(r => r.MemoryMiB);

    /// <summary>Live background refills (their process holds the directory), oldest first.</summary>
    public static List<PoolRefillRecord> Refills(SandboxPaths paths)
    {
        var refills = new List<PoolRefillRecord>();
        if (!Directory.Exists(paths.Run)) return refills;
        foreach (var dir in Directory.EnumerateDirectories(paths.Run))
        {
            if (!File.Exists(Path.Combine(dir, PoolRefillRecord.FileName))) continue;
            if (PoolRefillRecord.Load(dir) is not PoolRefillRecord r || !SandboxDirectory.IsOwned(dir)) continue;
            refills.Add(r);
        }
        refills.Sort((a, b) => a.Created.CompareTo(b.Created));
        return refills;
    }

    /// <summary>
    /// Stops a background refill; it first finishes a member it is booting (so that a drain after this sees it). False
    /// when it was gone meanwhile.
    /// </summary>
    public static bool StopRefill(SandboxPaths paths, string refillId, TimeSpan timeout)
    {
        bool ok = false;
        var path = Path.Combine(paths.Sandbox(refillId), PoolRefillRecord.SocketName);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send("stop\n"u8);
            socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
            var buffer = new byte[16];
            int n = socket.Receive(buffer);
            ok = n >= 2 && Encoding.ASCII.GetString(buffer, 0, 2) == "ok";
        }
        catch (Exception e) when (e is SocketException or IOException) { }
        return ok;
    }

    /// <summary>Live members (their holder holds the directory), oldest first.</summary>
    public static List<PoolMemberRecord> Members(SandboxPaths paths)
    {
        var members = new List<PoolMemberRecord>();
        if (!Directory.Exists(paths.Run)) return members;
        foreach (var dir in Directory.EnumerateDirectories(paths.Run))
        {
            if (!File.Exists(Path.Combine(dir, PoolMemberRecord.FileName))) continue;
            if (PoolMemberRecord.Load(dir) is not PoolMemberRecord r || !SandboxDirectory.IsOwned(dir)) continue;
            members.Add(r);
        }
        members.Sort((a, b) => a.Created.CompareTo(b.Created));
        return members;
    }

    public static PoolMemberView View(PoolMemberRecord r, string currentGuest)
    {
        long pss = 0;
        try
        {
            if (int.TryParse(File.ReadAllText($"/run/libvirt/qemu/{r.Domain}.pid").Trim(), out int pid)) pss = QemuFootprint.PssBytes(pid) ?? 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new PoolMemberView(r.Id, r.Image, r.ImageDigest, r.MemoryMiB, r.Cpus, r.Paused ? "paused" : "idle",
            Math.Round((DateTimeOffset.UtcNow - r.Created).TotalSeconds, 1), pss, r.Domain, r.HolderPid, r.Guest == currentGuest);
    }

    /// <summary>
    /// Takes a member of <paramref name="shape"/>: its holder resumes it, records <paramref name="claimer"/> as the
    /// domain's owner, moves its console log to <paramref name="consoleLog"/> and hands over the connected channel.
    /// Null when no member matches or every matching one was taken meanwhile.
    /// </summary>
    internal static async Task<ClaimedMember?> TryClaimAsync(SandboxPaths paths, PoolShape shape, DomainOwner claimer, string consoleLog,
        ILogger log, CancellationToken cancellationToken)
    {
        foreach (var member in Members(paths))
        {
            if (member.Shape != shape) continue;
            var request = $"claim {claimer.Pid} {claimer.StartTime} {claimer.BootId} {consoleLog}\n";
            var fd = await Task.Run(() => RequestFd(paths, member.Id, request), cancellationToken).ConfigureAwait(false);
            if (fd is not null)
            {
                MicroVmLog.PoolMemberClaimed(log, member.Id, member.Domain);
                return new ClaimedMember(member, fd);
            }
        }
        return null;
    }

    /// <summary>Tells a member's holder to destroy its guest and exit; false when it was gone or taken meanwhile.</summary>
    public static bool Drain(SandboxPaths paths, string memberId)
    {
        bool ok = false;
        Request(paths, memberId, "drain\n", socket =>
        {
            var buffer = new byte[16];
            int n = socket.Receive(buffer);
            ok = n >= 2 && Encoding.ASCII.GetString(buffer, 0, 2) == "ok";
        });
        return ok;
    }

    private static SafeFd? RequestFd(SandboxPaths paths, string memberId, string request)
    {
        SafeFd? channel = null;
        Request(paths, memberId, request, socket =>
        {
            if (Sockets.ReceiveFd(new SafeFd((int)socket.Handle, ownsHandle: false)) is not (byte tag, SafeFd fd)) return;
            if (tag == 1) channel = fd;
            else fd.Dispose();
        });
        return channel;
    }

    /// <summary>One request on a member's socket; a holder that is gone (or served someone else first) is no error.</summary>
    private static void Request(SandboxPaths paths, string memberId, string request, Action<Socket> reply)
    {
        var path = Path.Combine(paths.Sandbox(memberId), PoolMemberRecord.SocketName);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(request));
            reply(socket);
        }
        catch (Exception e) when (e is SocketException or ErrnoException or IOException) { }
    }
}

/// <summary>A member handed over: its record and the connected channel to its init (past init's first Hello).</summary>
internal sealed record ClaimedMember(PoolMemberRecord Member, SafeFd Channel);
