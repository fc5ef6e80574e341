using System.Globalization;

namespace Sandbox.Benchmarking;

/// <summary>Proportional set size of processes, from <c>/proc/PID/smaps_rollup</c>.</summary>
public static class Pss
{
    /// <summary>The PSS of one process in bytes, or 0 when it is gone.</summary>
    public static long OfProcess(int pid)
    {
        string text;
        try { text = File.ReadAllText($"/proc/{pid}/smaps_rollup"); }
        catch (IOException) { return 0; }
        catch (UnauthorizedAccessException) { return 0; }
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("Pss:", StringComparison.Ordinal)) continue;
            var kb = line[4..].Trim().Split(' ')[0];
            return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        return 0;
    }

    /// <summary>A process and all its descendants (from /proc/PID/task/*/children).</summary>
    public static IReadOnlyList<int> Tree(int pid)
    {
        var result = new List<int>();
        var queue = new Queue<int>([pid]);
        while (queue.Count > 0)
        {
            int p = queue.Dequeue();
            if (!Directory.Exists($"/proc/{p}")) continue;
            result.Add(p);
            string[] tasks;
            try { tasks = Directory.GetDirectories($"/proc/{p}/task"); }
            catch (IOException) { continue; }
            foreach (var task in tasks)
            {
                string children;
                try { children = File.ReadAllText(Path.Combine(task, "children")); }
                catch (IOException) { continue; }
                foreach (var c in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    queue.Enqueue(int.Parse(c, CultureInfo.InvariantCulture));
            }
        }
        return result;
    }

    public static long OfTree(int pid) => Tree(pid).Sum(OfProcess);
}
