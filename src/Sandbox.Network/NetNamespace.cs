using Sandbox.Interop.Libc;

namespace Sandbox.Network;

/// <summary>
/// Network namespaces pinned to a file by a bind mount, the way <c>ip netns</c> does it, so the CNI plugins can reach
/// them by path (<c>CNI_NETNS</c>) and DEL finds the interface even after the sandbox's processes are gone. Namespace
/// switches are per thread (setns/unshare with CLONE_NEWNET), so each runs on a dedicated thread that switches back.
/// </summary>
internal static class NetNamespace
{
    /// <summary>Pins the network namespace of <paramref name="pid"/> at <paramref name="path"/>.</summary>
    public static void BindProcess(int pid, string path)
    {
        File.WriteAllBytes(path, []);
        try { Mounts.Mount($"/proc/{pid}/ns/net", path, null, Mounts.MS_BIND); }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Creates a new, empty network namespace pinned at <paramref name="path"/> (no process in it).</summary>
    public static void Create(string path)
    {
        File.WriteAllBytes(path, []);
        try
        {
            OnThread(() =>
            {
                using var original = Files.Open("/proc/thread-self/ns/net", Files.O_RDONLY);
                Namespaces.Unshare(Namespaces.CLONE_NEWNET);
                try { Mounts.Mount("/proc/thread-self/ns/net", path, null, Mounts.MS_BIND); }
                finally { Namespaces.Enter(original, Namespaces.CLONE_NEWNET, "the host's network namespace"); }
            });
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Runs <paramref name="action"/> with a control socket opened inside the namespace at <paramref name="path"/>.</summary>
    public static void WithControlSocket(string path, Action<SafeFd> action)
    {
        OnThread(() =>
        {
            SafeFd control;
            using (var original = Files.Open("/proc/thread-self/ns/net", Files.O_RDONLY))
            using (var target = Files.Open(path, Files.O_RDONLY))
            {
                Namespaces.Enter(target, Namespaces.CLONE_NEWNET, path);
                try { control = NetDevice.OpenControlSocket(); }
                finally { Namespaces.Enter(original, Namespaces.CLONE_NEWNET, "the host's network namespace"); }
            }
            // A socket stays in the namespace it was made in: the ioctls act there.
            using (control) action(control);
        });
    }

    /// <summary>Unpins and removes the file (the namespace ends when nothing else holds it).</summary>
    public static void Remove(string path)
    {
        Mounts.TryUnmount(path);
        try { File.Delete(path); } catch (IOException) { }
    }

    public static bool IsPinned(string path)
    {
        // A bind-mounted nsfs file reports the nsfs magic; an unmounted placeholder is an empty regular file.
        try { return new FileInfo(path).Exists && File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Contains(" " + path + " ", StringComparison.Ordinal)); }
        catch (IOException) { return false; }
    }

    private static void OnThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { failure = e; }
        }, 256 * 1024) { IsBackground = true, Name = "netns" };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
    }
}
