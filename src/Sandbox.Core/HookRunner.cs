using System.Text;
using System.Text.Json;
using Sandbox.Interop.Libc;

namespace Sandbox.Core;

/// <summary>
/// Runs OCI hooks (runtime-spec config.md, "POSIX-platform Hooks") the way runc does: each hook in its list's order,
/// the container's state document on its stdin, its <c>args</c> as argv and its <c>env</c> (the runtime's own
/// environment when it has none), killed after its <c>timeout</c>. The first hook that fails ends the list with an
/// error naming it, with what it wrote. Hooks are executables by contract (like CNI plugins), not shelling out.
/// </summary>
public static class HookRunner
{
    /// <summary>The state document a hook reads on stdin (runtime-spec runtime.md "State"); pid omitted when 0.</summary>
    public static string State(BundleSpec bundle, string status, int pid)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("ociVersion", "1.1.0");
            w.WriteString("id", bundle.ContainerId ?? "");
            w.WriteString("status", status);
            if (pid > 0) w.WriteNumber("pid", pid);
            w.WriteString("bundle", bundle.BundlePath ?? "");
            if (bundle.Annotations.Count > 0)
            {
                w.WriteStartObject("annotations");
                foreach (var (k, v) in bundle.Annotations) w.WriteString(k, v);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Runs <paramref name="hooks"/> in order; throws <see cref="SandboxException"/> (<see cref="SandboxFailure.Host"/>) at the first failure.</summary>
    public static void Run(string phase, IReadOnlyList<BundleHook> hooks, string state)
    {
        for (int i = 0; i < hooks.Count; i++)
        {
            if (RunOne(hooks[i], state) is string failure)
                throw new SandboxException(SandboxFailure.Host, $"error running {phase} hook #{i} ({hooks[i].Path}): {failure}");
        }
    }

    /// <summary>Null on success, else what went wrong.</summary>
    private static string? RunOne(BundleHook hook, string state)
    {
        var argv = hook.Args.Count > 0 ? hook.Args : [hook.Path];
        var env = hook.Env ?? Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}").ToArray();
        var (stdinRead, stdinWrite) = Files.Pipe();
        var (outRead, outWrite) = Files.Pipe();
        var (errRead, errWrite) = Files.Pipe();
        int pid;
        try
        {
            using (stdinRead)
            using (outWrite)
            using (errWrite)
            {
                try { pid = Spawn.StartInNewSession(hook.Path, argv, env, [stdinRead, outWrite, errWrite]); }
                catch (ErrnoException e) { return $"cannot start it: {e.Message}"; }
            }
            // The state is small (far below a pipe's buffer); a hook that never reads it does not block us.
            try { Files.WriteAll(stdinWrite, Encoding.UTF8.GetBytes(state)); } catch (ErrnoException) { /* EPIPE: it did not read */ }
            stdinWrite.Dispose();
            var stdout = Task.Factory.StartNew(() => Drain(outRead), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var stderr = Task.Factory.StartNew(() => Drain(errRead), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            bool timedOut = false;
            if (hook.Timeout is int seconds && seconds > 0)
            {
                using var pidfd = Processes.PidfdOpen(pid);
                Span<Files.PollFd> fds = [new Files.PollFd { Fd = pidfd.Fd, Events = 1 /* POLLIN: exited */ }];
                var deadline = Environment.TickCount64 + seconds * 1000L;
                while (Files.Poll(fds, (int)Math.Max(0, deadline - Environment.TickCount64)) == 0)
                {
                    if (Environment.TickCount64 < deadline) continue;
                    timedOut = true;
                    Processes.PidfdSendSignal(pidfd, Processes.SIGKILL);
                    break;
                }
            }
            int status = Processes.Wait(pid);
            // A hook's own children may keep the pipes open: do not wait for them beyond a moment.
            Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(2));
            string Output() => $"stdout: {(stdout.IsCompleted ? stdout.Result : "").Trim()}, stderr: {(stderr.IsCompleted ? stderr.Result : "").Trim()}";
            if (timedOut) return $"it ran past its timeout of {hook.Timeout} s";
            if (Processes.Exited(status, out int code)) return code == 0 ? null : $"exit status {code}, {Output()}";
            Processes.Signaled(status, out int signal);
            return $"killed by signal {signal}, {Output()}";
        }
        finally
        {
            stdinWrite.Dispose();
        }
    }

    private static string Drain(SafeFd fd)
    {
        using (fd)
        {
            var text = new StringBuilder();
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = Files.Read(fd, buffer)) > 0 && text.Length < 64 * 1024) text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
            catch (ErrnoException) { }
            return text.ToString();
        }
    }
}
