using System.Text.Json.Nodes;

namespace Sandbox.Network.Cni;

/// <summary>
/// A network configuration list (spec 1.0, "Network configuration lists") run as one chain: ADD in order, each
/// plugin getting the previous one's result as <c>prevResult</c>; DEL in reverse order with the cached result; CHECK
/// in order with it. Capabilities (<c>portMappings</c>) are passed to the plugins that declare them as <c>runtimeConfig</c>.
/// </summary>
public sealed class CniChain
{
    private readonly JsonObject _list;
    private readonly string _searchPath;

    public CniChain(JsonObject configList, string searchPath)
    {
        _list = configList;
        _searchPath = searchPath;
    }

    public string Name => (string)_list["name"]!;
    public string CniVersion => (string)_list["cniVersion"]!;

    private IEnumerable<JsonObject> Plugins => _list["plugins"]!.AsArray().OfType<JsonObject>();

    /// <summary>Fails before anything is made when a plugin of the chain is missing.</summary>
    public void EnsurePluginsPresent()
    {
        foreach (var p in Plugins) new CniPlugin((string)p["type"]!, _searchPath).EnsurePresent();
    }

    /// <summary>ADD through the chain; on a failure DEL runs for the whole chain (the spec's cleanup) and the error is thrown.</summary>
    public async Task<JsonObject> AddAsync(CniRuntime runtime, CancellationToken cancellationToken)
    {
        EnsurePluginsPresent();
        JsonObject? result = null;
        try
        {
            foreach (var plugin in Plugins)
            {
                var config = PluginConfig(plugin, runtime, result);
                var type = (string)plugin["type"]!;
                result = await new CniPlugin(type, _searchPath)
                    .InvokeAsync("ADD", runtime.ContainerId, runtime.Netns, runtime.IfName, runtime.Args, config, cancellationToken)
                    .ConfigureAwait(false) ?? result;
            }
            return result ?? throw new NetworkException(NetworkFailure.Plugin, $"CNI chain {Name} returned no result");
        }
        catch
        {
            try { await DelAsync(runtime, result, CancellationToken.None).ConfigureAwait(false); }
            catch (NetworkException) { /* the ADD failure is the one to report */ }
            throw;
        }
    }

    /// <summary>DEL in reverse order; every plugin runs even when an earlier one failed, the first failure is thrown.</summary>
    public async Task DelAsync(CniRuntime runtime, JsonObject? cachedResult, CancellationToken cancellationToken)
    {
        NetworkException? first = null;
        foreach (var plugin in Plugins.Reverse())
        {
            var config = PluginConfig(plugin, runtime, cachedResult);
            try
            {
                await new CniPlugin((string)plugin["type"]!, _searchPath)
                    .InvokeAsync("DEL", runtime.ContainerId, runtime.Netns, runtime.IfName, runtime.Args, config, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (NetworkException e) { first ??= e; }
        }
        if (first is not null) throw first;
    }

    /// <summary>CHECK in order: the plugins verify that what ADD made is still there.</summary>
    public async Task CheckAsync(CniRuntime runtime, JsonObject cachedResult, CancellationToken cancellationToken)
    {
        foreach (var plugin in Plugins)
        {
            var config = PluginConfig(plugin, runtime, cachedResult);
            await new CniPlugin((string)plugin["type"]!, _searchPath)
                .InvokeAsync("CHECK", runtime.ContainerId, runtime.Netns, runtime.IfName, runtime.Args, config, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private JsonObject PluginConfig(JsonObject plugin, CniRuntime runtime, JsonObject? prevResult)
    {
        var config = (JsonObject)plugin.DeepClone();
        config["name"] = Name;
        config["cniVersion"] = CniVersion;
        if (prevResult is not null) config["prevResult"] = prevResult.DeepClone();
        if (config["capabilities"] is JsonObject caps)
        {
            var rc = new JsonObject();
            if ((bool?)caps["portMappings"] == true && runtime.PortMappings is JsonArray ports) rc["portMappings"] = ports.DeepClone();
            if (rc.Count > 0) config["runtimeConfig"] = rc;
            config.Remove("capabilities");
        }
        return config;
    }
}

/// <summary>The per-attachment parameters of a chain run (the spec's "runtime" parameters).</summary>
public sealed record CniRuntime(string ContainerId, string? Netns, string IfName, string Args, JsonArray? PortMappings);
