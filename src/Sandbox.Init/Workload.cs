using Sandbox.Core;
using Sandbox.Interop.Libc;
using Sandbox.Protocol;

namespace Sandbox.Init;

/// <summary>
/// The part both boots end in: makes <c>newRoot</c> the workload's world, starts the workload through the native
/// shim (no managed code after fork), supervises it and every exec'd process as PID 1 and reports to the host. One
/// linear method, in the order a runtime must do things: mounts, root switch, identity, stdio, then exec with the
/// security settings applied last.
/// </summary>
public static partial class Workload
{
    /// <summary>The sandbox's Start spec: every process init starts (the workload, exec'd ones) gets its profile
    /// (--privileged, the rlimits).</summary>
    private static InitSpec Profile = new();

    /// <summary>The workload's resolved process, the base of every exec (docker's exec rules).</summary>
    internal static InitSpec MainSpec => Profile;

    /// <summary>The caller's fds for the main process (<c>--preserve-fds</c>), until it has been started.</summary>
    private static SafeFd[] PreservedFds = [];

    public static int Run(InitSpec spec, InitChannel channel, string newRoot, RootSwitch how, StdioMode stdio)
    {
        Profile = spec;
        SandboxProcess? main = null;
        try
        {
            // 1. Build the root while the old one is still visible (volume sources, host device nodes).
            if (spec.Bundle is { } bundle)
            {
                // An OCI bundle: exactly its mounts list (docs/oci-runtime.md), none of docker's defaults.
                BundleRootfs.Mount(newRoot, spec, bundle);
                // createContainer hooks: in the container's namespaces, the host's paths still reachable (runc's point).
                if (bundle.Hooks is { CreateContainer.Count: > 0 } hooks)
                    Try(InitFailure.Other, "run the createContainer hooks", () =>
                        HookRunner.Run("createContainer", hooks.CreateContainer, HookRunner.State(bundle, "creating", Processes.GetPid())));
            }
            else
            {
                Rootfs.MountVolumes(newRoot, spec.Mounts);
                Rootfs.MountKernelFileSystems(newRoot, spec.SetupLoopback);
                Rootfs.MountDev(newRoot);
                Rootfs.BindEtcFiles(newRoot, spec);
            }

            // 2. Switch roots: from here on only the sandbox's tree is reachable.
            Rootfs.SwitchRoot(newRoot, how);
            if (spec.TraceBoot) channel.SendMark(MarkKind.RootSwitched, Processes.MonotonicNs());
            if (spec.Bundle is not null) BundleRootfs.Finish(spec.Bundle);
            else if (spec.Privileged) Try(InitFailure.Rootfs, "make /sys writable", Rootfs.MakeSysWritable);
            else Rootfs.MaskPaths();

            // 3. The machine's name, the network, the working directory (created for the workload, as docker does).
            if (spec.Bundle is null || spec.Bundle.SetHostname)
                Try(InitFailure.Other, "sethostname", () => Processes.SetHostname(spec.Hostname));
            if (spec.SetupLoopback) Try(InitFailure.Other, "bring up lo", () => Sockets.BringUp("lo"));
            WorkingDirectory.Prepare(spec.WorkingDir);
            if (spec.ReadOnlyRootfs) Try(InitFailure.Rootfs, "make the rootfs read-only", () => Mounts.SetReadOnly("/", recursive: false));

            // 4. The workload: identity, stdio (a pty from the sandbox's own devpts for -t), exec.
            var request = new ExecRequest(spec.Argv, spec.Env, spec.WorkingDir, spec.User, spec.Tty, spec.Interactive,
                spec.TtyRows, spec.TtyColumns);
            // startContainer hooks: in the container, after start, just before the workload's exec (runc's point).
            if (spec.Bundle is { Hooks.StartContainer.Count: > 0 } started)
                Try(InitFailure.Other, "run the startContainer hooks", () =>
                    HookRunner.Run("startContainer", started.Hooks!.StartContainer, HookRunner.State(started, "created", Processes.GetPid())));
            // --preserve-fds: the host sends the caller's fds over the fd socket; the workload gets them as 3, 4, ….
            if (spec.Bundle is { PreserveFds: > 0 } preserving)
                PreservedFds = Try(InitFailure.Other, "receive the preserved fds", () => Enumerable.Range(0, preserving.PreserveFds)
                    .Select(_ => Sockets.ReceiveFd(channel.FdSocket!) is ((byte)'P', var fd) ? fd : throw new IOException("the host sent no preserved fd"))
                    .ToArray());
            main = Launch(Frame.MainProcess, request, channel, stdio, out long execAt);
            foreach (var fd in PreservedFds) fd.Dispose();
            PreservedFds = [];
            channel.SendMark(MarkKind.WorkloadStarted, execAt);
        }
        catch (InitSetupException e)
        {
            main?.Stdio.Dispose();
            channel.SendError(e.Failure, e.Errno, e.Message);
            return e.ExitCode;
        }
        catch (Exception e)
        {
            main?.Stdio.Dispose();
            channel.SendError(InitFailure.Other, e is ErrnoException ee ? ee.Errno : 0, e.Message);
            return 125;
        }
        try
        {
            return new Supervisor(channel, main, spec.Mode == InitMode.Guest).Run();
        }
        finally
        {
            main.Stdio.Dispose();
        }
    }

    /// <summary>
    /// Starts one process (the workload or an exec'd one) with the sandbox's full profile: the requested identity
    /// resolved in the sandbox's /etc files, its stdio, the command found in its PATH, then fork+exec through the
    /// native shim with capabilities, no_new_privs and seccomp applied last. Returns once the process has exec'd.
    /// </summary>
    internal static SandboxProcess Launch(uint id, ExecRequest request, InitChannel channel, StdioMode mode, out long execAt)
    {
        var bundle = Profile.Bundle;
        // A bundle's main process runs with exactly its config's ids (HOME from /etc/passwd when it has an entry).
        var identity = bundle is not null && id == Frame.MainProcess
            ? new Identity(bundle.Uid, bundle.Gid, [.. bundle.AdditionalGids], HomeOf(bundle.Uid))
            : Try(InitFailure.User, "resolve user", () => Identity.Resolve(request.User, "/"));
        var env = WithHome(request.Env, identity.Home);
        var stdio = Stdio.Open(request, channel, mode, consoleOwner: id == Frame.MainProcess);
        try
        {
            var path = CommandPath.Resolve(request.Argv, env, request.WorkingDir);
            // Timed just before the fork+exec, reported once the exec succeeded (a failure is an Error frame instead).
            execAt = Processes.MonotonicNs();
            int pid;
            try
            {
                pid = SandboxNative.ExecWorkload(new SandboxNative.WorkloadLaunch
                {
                    Path = path,
                    Argv = request.Argv,
                    Env = env,
                    WorkingDir = request.WorkingDir,
                    Stdin = stdio.ChildStdin,
                    Stdout = stdio.ChildStdout,
                    Stderr = stdio.ChildStderr,
                    Tty = request.Tty,
                    Uid = identity.Uid,
                    Gid = identity.Gid,
                    Groups = identity.Groups,
                    CapBounding = bundle is not null ? bundle.CapBounding : Profile.Privileged ? SecurityProfile.AllCapabilities : SecurityProfile.DefaultCapabilities,
                    CapEffective = bundle is not null ? bundle.CapEffective : Profile.Privileged ? SecurityProfile.AllCapabilities : SecurityProfile.DefaultCapabilities,
                    ExplicitCaps = bundle is not null,
                    CapPermitted = bundle?.CapPermitted ?? 0,
                    CapInheritable = bundle?.CapInheritable ?? 0,
                    CapAmbient = bundle?.CapAmbient ?? 0,
                    Umask = bundle?.Umask,
                    NoNewPrivs = bundle is not null ? bundle.NoNewPrivileges : !Profile.Privileged,
                    OomScoreAdj = bundle is not null ? bundle.OomScoreAdj : 0,
                    Seccomp = bundle is not null ? SecurityProfile.BundleFilter(bundle) : Profile.Privileged ? [] : SecurityProfile.SeccompFilter,
                    Rlimits = [.. Profile.Rlimits.Select(r => new SandboxNative.Rlimit(r.Resource, r.Soft, r.Hard))],
                    ExtraFds = id == Frame.MainProcess ? PreservedFds : [],
                });
            }
            catch (SandboxNative.ExecException e)
            {
                throw ExecFailure(request.Argv[0], e);
            }
            stdio.CloseChildEnds();
            return new SandboxProcess(id, pid, stdio);
        }
        catch
        {
            stdio.Dispose();
            throw;
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

    private static string HomeOf(uint uid)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length >= 6 && f[2] == uid.ToString(System.Globalization.CultureInfo.InvariantCulture)) return f[5];
            }
        }
        catch (IOException) { }
        return "/";
    }

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

/// <summary>One process init started: its protocol id, pid, stdio ends, and its wait status once reaped.</summary>
internal sealed class SandboxProcess(uint id, int pid, Stdio stdio)
{
    public uint Id { get; } = id;
    public int Pid { get; } = pid;
    public Stdio Stdio { get; } = stdio;
    public int? Status { get; set; }

    /// <summary>Exec'd through a holding init's control socket: the client that gets its streams and its exit.</summary>
    public ControlConnection? Client { get; set; }

    /// <summary>Nobody reads its output (exec -d, or its client went away).</summary>
    public bool Discard { get; set; }
}
