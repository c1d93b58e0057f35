/**
 * describeGlobal and sObject describe, listing only the fields the API user can see (new custom
 * fields appear only once a permission set grants them — API_FACTS §Metadata, simple-salesforce
 * #621). Shape: SF DescribeSObjectResult / DescribeGlobalResult (resources_sobject_describe.htm).
 */
import type { FieldDef } from './schema.js';
import type { SalesforceState } from './state.js';
import type { SObjectTable } from './table.js';

const SOAP_TYPES: Record<string, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  boolean: 'xsd:boolean',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
};

function describeField(state: SalesforceState, table: SObjectTable, f: FieldDef): Record<string, unknown> {
  const editable = state.canEdit(table, f);
  return {
    name: f.name,
    label: f.label,
    type: f.type,
    soapType: SOAP_TYPES[f.type] ?? 'xsd:string',
    length: f.length,
    precision: f.precision,
    scale: f.scale,
    digits: f.type === 'int' ? 9 : 0,
    custom: f.custom,
    createable: f.createable && editable,
    updateable: f.updateable && editable,
    nillable: f.nillable,
    defaultedOnCreate: f.defaultValue !== null || f.name === 'OwnerId' || f.type === 'boolean',
    defaultValue: f.defaultValue,
    externalId: f.externalId,
    unique: f.unique,
    idLookup: f.name === 'Id' || f.externalId,
    filterable: f.type !== 'textarea' || f.length <= 255,
    sortable: f.type !== 'textarea' && f.type !== 'multipicklist',
    groupable: !['textarea', 'multipicklist', 'double', 'currency', 'percent', 'datetime'].includes(f.type),
    calculated: false,
    autoNumber: f.name === 'CaseNumber',
    caseSensitive: false,
    referenceTo: f.referenceTo,
    relationshipName: f.relationshipName,
    polymorphicForeignKey: f.referenceTo.length > 1,
    restrictedPicklist: f.restrictedPicklist === true,
    picklistValues: f.picklistValues.map((v) => ({
      active: true,
      defaultValue: v === f.defaultValue,
      label: v,
      validFor: null,
      value: v,
    })),
    inlineHelpText: null,
  };
}

export function describeSObject(
  state: SalesforceState,
  table: SObjectTable,
  version: string,
): Record<string, unknown> {
  const base = `/services/data/v${version}/sobjects/${table.name}`;
  return {
    name: table.name,
    label: table.label,
    labelPlural: `${table.label}s`,
    keyPrefix: table.keyPrefix,
    custom: false,
    createable: true,
    updateable: true,
    deletable: true,
    queryable: true,
    retrieveable: true,
    searchable: true,
    undeletable: true,
    replicateable: true,
    fields: [...table.fields.values()]
      .filter((f) => state.canRead(table, f))
      .map((f) => describeField(state, table, f)),
    childRelationships: [],
    recordTypeInfos: [],
    urls: { sobject: base, describe: `${base}/describe`, rowTemplate: `${base}/{ID}` },
  };
}

export function describeGlobal(state: SalesforceState, version: string): Record<string, unknown> {
  return {
    encoding: 'UTF-8',
    maxBatchSize: 200,
    sobjects: [...state.tables.values()].map((t) => ({
      name: t.name,
      label: t.label,
      labelPlural: `${t.label}s`,
      keyPrefix: t.keyPrefix,
      custom: false,
      createable: true,
      updateable: true,
      deletable: true,
      queryable: true,
      retrieveable: true,
      urls: {
        sobject: `/services/data/v${version}/sobjects/${t.name}`,
        describe: `/services/data/v${version}/sobjects/${t.name}/describe`,
        rowTemplate: `/services/data/v${version}/sobjects/${t.name}/{ID}`,
      },
    })),
  };
}
