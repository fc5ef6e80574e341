using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// The part both boots end in: makes <c>newRoot</c> the workload's world, starts the workload through the native
/// shim (no managed code after fork), supervises it as PID 1 and reports to the host. One linear method, in the order
/// a runtime must do things: mounts, root switch, identity, stdio, then exec with the security settings applied last.
/// </summary>
public static partial class Workload
{
    public static int Run(InitSpec spec, InitChannel channel, string newRoot, RootSwitch how, StdioMode stdio)
    {
        Stdio? streams = null;
        try
        {
            // 1. Build the root while the old one is still visible (volume sources, host device nodes).
            Rootfs.MountVolumes(newRoot, spec.Mounts);
            Rootfs.MountKernelFileSystems(newRoot, spec.SetupLoopback);
            Rootfs.MountDev(newRoot);
            Rootfs.BindEtcFiles(newRoot, spec);

            // 2. Switch roots: from here on only the sandbox's tree is reachable.
            Rootfs.SwitchRoot(newRoot, how);
            if (spec.Privileged) Try(InitFailure.Rootfs, "make /sys writable", Rootfs.MakeSysWritable);
            else Rootfs.MaskPaths();

            // 3. Identity and the machine's name.
            Try(InitFailure.Other, "sethostname", () => Processes.SetHostname(spec.Hostname));
            if (spec.SetupLoopback) Try(InitFailure.Other, "bring up lo", () => Sockets.BringUp("lo"));
            var identity = Try(InitFailure.User, "resolve user", () => Identity.Resolve(spec.User, "/"));
            var env = WithHome(spec.Env, identity.Home);
            Try(InitFailure.WorkingDir, $"create working directory {spec.WorkingDir}", () => Directory.CreateDirectory(spec.WorkingDir));
            if (spec.ReadOnlyRootfs) Try(InitFailure.Rootfs, "make the rootfs read-only", () => Mounts.SetReadOnly("/", recursive: false));

            // 4. stdio (a pty from the sandbox's own devpts for -t), then the command.
            streams = Stdio.Open(spec, channel, stdio);
            var path = CommandPath.Resolve(spec.Argv, env, spec.WorkingDir);

            // Timed just before the fork+exec, reported once the exec succeeded (a failure is an Error frame instead).
            long execAt = Processes.MonotonicNs();
            int pid;
            try
            {
                pid = SandboxNative.ExecWorkload(new SandboxNative.WorkloadLaunch
                {
                    Path = path,
                    Argv = spec.Argv,
                    Env = env,
                    WorkingDir = spec.WorkingDir,
                    Stdin = streams.ChildStdin,
                    Stdout = streams.ChildStdout,
                    Stderr = streams.ChildStderr,
                    Tty = spec.Tty,
                    Uid = identity.Uid,
                    Gid = identity.Gid,
                    Groups = identity.Groups,
                    CapBounding = spec.Privileged ? SecurityProfile.AllCapabilities : SecurityProfile.DefaultCapabilities,
                    CapEffective = spec.Privileged ? SecurityProfile.AllCapabilities : SecurityProfile.DefaultCapabilities,
                    NoNewPrivs = !spec.Privileged,
                    OomScoreAdj = 0,
                    Seccomp = spec.Privileged ? [] : SecurityProfile.BuildSeccompFilter(),
                    Rlimits = [.. spec.Rlimits.Select(r => new SandboxNative.Rlimit(r.Resource, r.Soft, r.Hard))],
                });
            }
            catch (SandboxNative.ExecException e)
            {
                throw ExecFailure(spec.Argv[0], e);
            }
            channel.SendMark(MarkKind.WorkloadStarted, execAt);
            streams.CloseChildEnds();
            return Supervise(pid, channel, streams);
        }
        catch (InitSetupException e)
        {
            channel.SendError(e.Failure, e.Errno, e.Message);
            return e.ExitCode;
        }
        catch (Exception e)
        {
            channel.SendError(InitFailure.Other, e is ErrnoException ee ? ee.Errno : 0, e.Message);
            return 125;
        }
        finally
        {
            streams?.Dispose();
        }
    }

    private static InitSetupException ExecFailure(string command, SandboxNative.ExecException e) => e.Step switch
    {
        SandboxNative.ExecStep.Exec when e.Errno is 2 /* ENOENT */ or 20 /* ENOTDIR */ =>
            new(InitFailure.CommandNotFound, $"exec {command}: {ErrnoException.Describe(e.Errno)}", e.Errno, e),
        SandboxNative.ExecStep.Exec =>
            new(InitFailure.CommandNotExecutable, $"exec {command}: {ErrnoException.Describe(e.Errno)}", e.Errno, e),
        SandboxNative.ExecStep.WorkingDir =>
            new(InitFailure.WorkingDir, $"chdir to the working directory: {ErrnoException.Describe(e.Errno)}", e.Errno, e),
        SandboxNative.ExecStep.Rlimit =>
            new(InitFailure.Security, $"set the workload's ulimits: {ErrnoException.Describe(e.Errno)}" +
                (e.Errno == 1 ? " (raising a hard limit above the runtime's own needs CAP_SYS_RESOURCE)" : ""), e.Errno, e),
        SandboxNative.ExecStep.Groups or SandboxNative.ExecStep.Gid or SandboxNative.ExecStep.Uid =>
            new(InitFailure.User, $"switch user ({e.Step}): {ErrnoException.Describe(e.Errno)}", e.Errno, e),
        _ => new(InitFailure.Security, $"prepare the workload ({e.Step}): {ErrnoException.Describe(e.Errno)}", e.Errno, e),
    };

    private static string[] WithHome(string[] env, string home) =>
        env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal)) ? env : [.. env, "HOME=" + home];

    internal static void Try(InitFailure failure, string what, Action action)
    {
        try { action(); }
        catch (InitSetupException) { throw; }
        catch (Exception e) { throw InitSetupException.From(failure, what, e); }
    }

    internal static T Try<T>(InitFailure failure, string what, Func<T> action)
    {
        try { return action(); }
        catch (InitSetupException) { throw; }
        catch (Exception e) { throw InitSetupException.From(failure, what, e); }
    }
}
