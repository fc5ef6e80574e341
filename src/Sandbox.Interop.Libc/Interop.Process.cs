using System.Runtime.InteropServices;

namespace Sandbox.Interop.Libc;

/// <summary>Processes: kill(2), waitpid(2), pidfds, prctl(2), sethostname(2), clocks.</summary>
public static partial class Processes
{
    public const int SIGHUP = 1, SIGINT = 2, SIGKILL = 9, SIGTERM = 15, SIGCHLD = 17, SIGWINCH = 28;
    public const int WNOHANG = 1;
    private const int ESRCH = 3, ECHILD = 10, EINTR = 4;

    /// <summary>Sends a signal; false when the process is already gone.</summary>
    public static bool Kill(int pid, int signal)
    {
        if (kill(pid, signal) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == ESRCH) return false;
        throw new ErrnoException(errno, "kill", $"pid {pid} signal {signal}");
    }

    /// <summary>A reaped child: its pid and raw wait status; null when no child changed state (WNOHANG) or none is left.</summary>
    public static (int Pid, int Status)? WaitAny(bool block)
    {
        while (true)
        {
            int status;
            int pid;
            unsafe { pid = waitpid(-1, &status, block ? 0 : WNOHANG); }
            if (pid > 0) return (pid, status);
            if (pid == 0) return null;
            int errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR) continue;
            if (errno == ECHILD) return null;
            throw new ErrnoException(errno, "waitpid", "any child");
        }
    }

    /// <summary>Waits for one child; returns its raw wait status.</summary>
    public static int Wait(int pid)
    {
        while (true)
        {
            int status;
            int r;
            unsafe { r = waitpid(pid, &status, 0); }
            if (r == pid) return status;
            int errno = Marshal.GetLastPInvokeError();
            if (r < 0 && errno == EINTR) continue;
            throw new ErrnoException(errno, "waitpid", $"pid {pid}");
        }
    }

    public static bool Exited(int status, out int code) { code = (status >> 8) & 0xff; return (status & 0x7f) == 0; }
    public static bool Signaled(int status, out int signal) { signal = status & 0x7f; return signal != 0 && signal != 0x7f; }

    public static SafeFd PidfdOpen(int pid)
    {
        int fd = (int)syscall(434, pid, 0);
        if (fd < 0) throw ErrnoException.FromLastError("pidfd_open", $"pid {pid}");
        return new SafeFd(fd);
    }

    /// <summary>Signals the process behind a pidfd; false when it has already exited.</summary>
    public static bool PidfdSendSignal(SafeFd pidfd, int signal)
    {
        if (syscall(424, pidfd.Fd, signal, 0, 0) == 0) return true;
        int errno = Marshal.GetLastPInvokeError();
        if (errno == ESRCH) return false;
        throw new ErrnoException(errno, "pidfd_send_signal", $"signal {signal}");
    }

    public static int GetPid() => getpid();

    public static void SetHostname(string name)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(name);
        if (sethostname(bytes, (nuint)bytes.Length) != 0) throw ErrnoException.FromLastError("sethostname", name);
    }

    public const int PR_SET_CHILD_SUBREAPER = 36, PR_SET_PDEATHSIG = 1, PR_SET_DUMPABLE = 4;

    /// <summary>setsid(2): a new session and process group (leaves the caller's terminal and its signals).</summary>
    public static void SetSid()
    {
        if (setsid() < 0) throw ErrnoException.FromLastError("setsid");
    }

    public static void Prctl(int option, ulong arg)
    {
        if (prctl(option, arg, 0, 0, 0) != 0) throw ErrnoException.FromLastError("prctl", option.ToString());
    }

    /// <summary>CLOCK_MONOTONIC in nanoseconds: the clock the protocol's marks use.</summary>
    public static unsafe long MonotonicNs()
    {
        long* ts = stackalloc long[2];
        clock_gettime(1, ts);
        return ts[0] * 1_000_000_000 + ts[1];
    }

    /// <summary>Ends the process at once, without the runtime's shutdown (everything worth flushing already was).</summary>
    public static void ExitNow(int code) => _exit(code);

    [LibraryImport(Libraries.LibC)]
    private static partial void _exit(int code);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static unsafe partial int waitpid(int pid, int* status, int options);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial long syscall(long number, long a1, long a2);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial long syscall(long number, long a1, long a2, long a3, long a4);

    [LibraryImport(Libraries.LibC)]
    private static partial int getpid();

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int setsid();

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int sethostname(byte[] name, nuint len);

    [LibraryImport(Libraries.LibC, SetLastError = true)]
    private static partial int prctl(int option, ulong a2, ulong a3, ulong a4, ulong a5);

    [LibraryImport(Libraries.LibC)]
    private static unsafe partial int clock_gettime(int clock, long* ts);
}
